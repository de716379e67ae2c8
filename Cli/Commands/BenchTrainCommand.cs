using System.CommandLine;

namespace Orchestrator.Cli.Commands;

// Placeholder until its issue lands.
public static class BenchTrainCommand
{
    public static Command Create() => Stub.Command("train", "Training throughput (tokens/s, MFU)");
}
