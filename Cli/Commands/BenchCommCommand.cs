using System.CommandLine;

namespace Orchestrator.Cli.Commands;

// Placeholder until its issue lands.
public static class BenchCommCommand
{
    public static Command Create() => Stub.Command("comm", "Collective bus bandwidth");
}
