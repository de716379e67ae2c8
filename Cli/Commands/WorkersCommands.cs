using System.CommandLine;

namespace Orchestrator.Cli.Commands;

// Placeholder until its issue lands: the command exists so `orch --help` shows the whole surface.
public static class WorkersCommands
{
    public static Command Create() => Stub.Command("workers", "List and scale workers");
}
