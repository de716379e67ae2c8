using System.CommandLine;

namespace Orchestrator.Cli.Commands;

// Placeholder until its issue lands: the command exists so `orch --help` shows the whole surface.
public static class SweepCommands
{
    public static Command Create() => Stub.Command("sweep", "Launch, watch and report scaling-law sweeps");
}
