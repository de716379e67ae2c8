using System.CommandLine;

namespace Orchestrator.Cli.Commands;

// Placeholder until its issue lands: the command exists so `orch --help` shows the whole surface.
public static class TrainCommands
{
    public static IEnumerable<Command> Create() =>
    [
        Stub.Command("train", "Train a GPT model on a prepared corpus"),
        Stub.Command("eval", "Validation loss and perplexity of a checkpoint"),
        Stub.Command("sample", "Generate text from a checkpoint"),
        Stub.Command("export", "Export a checkpoint as safetensors"),
    ];
}
