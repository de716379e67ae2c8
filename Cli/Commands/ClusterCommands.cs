using System.CommandLine;

namespace Orchestrator.Cli.Commands;

// Placeholder until its issue lands: the command exists so `orch --help` shows the whole surface.
public static class ClusterCommands
{
    public static IEnumerable<Command> Create() =>
    [
        Stub.Command("coordinator", "Run the coordinator silo"),
        Stub.Command("worker", "Run a worker process for one device"),
        Stub.Command("local", "Run a coordinator and N workers on this machine"),
    ];
}
