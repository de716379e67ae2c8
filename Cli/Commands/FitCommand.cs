using System.CommandLine;

namespace Orchestrator.Cli.Commands;

// Placeholder until its issue lands: the command exists so `orch --help` shows the whole surface.
public static class FitCommand
{
    public static Command Create() => Stub.Command("fit", "Fit L(N, D) to a CSV of N,D,loss");
}
