using System.CommandLine;

namespace Orchestrator.Cli.Commands;

/// <summary>`orch bench train|comm|data`: each prints its figure and its units.</summary>
public static class BenchCommands
{
    public static Command Create()
    {
        var bench = new Command("bench", "Benchmarks that print their figure and its units");
        bench.Subcommands.Add(BenchTrainCommand.Create());
        bench.Subcommands.Add(BenchCommCommand.Create());
        bench.Subcommands.Add(BenchDataCommand.Create());
        return bench;
    }
}
