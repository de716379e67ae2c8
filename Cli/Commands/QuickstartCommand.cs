using System.CommandLine;

namespace Orchestrator.Cli.Commands;

// Placeholder until its issue lands: the command exists so `orch --help` shows the whole surface.
public static class QuickstartCommand
{
    public static Command Create() => Stub.Command("quickstart", "Fetch the Brown corpus, prepare it, run a small scaling-law sweep on CPU");
}
