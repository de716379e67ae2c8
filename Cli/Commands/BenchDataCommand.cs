using System.CommandLine;

namespace Orchestrator.Cli.Commands;

// Placeholder until its issue lands.
public static class BenchDataCommand
{
    public static Command Create() => Stub.Command("data", "Loader and prepare throughput");
}
