using System.CommandLine;

namespace Orchestrator.Cli.Commands;

// Placeholder until its issue lands: the command exists so `orch --help` shows the whole surface.
public static class RunCommands
{
    public static Command Create() => Stub.Command("run", "Submit, watch and cancel training runs");
}
