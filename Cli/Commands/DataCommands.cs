using System.CommandLine;

namespace Orchestrator.Cli.Commands;

// Placeholder until its issue lands: the command exists so `orch --help` shows the whole surface.
public static class DataCommands
{
    public static Command Create() => Stub.Command("data", "Prepare and inspect token corpora");
}
