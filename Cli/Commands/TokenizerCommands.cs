using System.CommandLine;

namespace Orchestrator.Cli.Commands;

// Placeholder until its issue lands: the command exists so `orch --help` shows the whole surface.
public static class TokenizerCommands
{
    public static Command Create() => Stub.Command("tokenizer", "Train a byte-level BPE tokenizer");
}
