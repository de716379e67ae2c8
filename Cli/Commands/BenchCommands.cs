using System.CommandLine;

namespace Orchestrator.Cli.Commands;

// Placeholder until its issue lands: the command exists so `orch --help` shows the whole surface.
public static class BenchCommands
{
    public static Command Create() => Stub.Command("bench", "Benchmarks: train, comm, data");
}
