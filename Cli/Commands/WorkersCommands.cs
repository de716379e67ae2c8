using System.CommandLine;

namespace Orchestrator.Cli.Commands;

/// <summary>`orch workers list|scale`.</summary>
public static class WorkersCommands
{
    public static Command Create()
    {
        var workers = new Command("workers", "List and scale workers");
        workers.Subcommands.Add(Stub.Command("list", "Registered workers and their devices"));
        workers.Subcommands.Add(WorkersScaleCommand.Create());
        return workers;
    }
}
