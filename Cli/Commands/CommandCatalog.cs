using System.CommandLine;

namespace Orchestrator.Cli.Commands;

/// <summary>Every top-level `orch` command, in the order `orch --help` lists them. One file per area.</summary>
public static class CommandCatalog
{
    /// <summary>Every console command (those with --coordinator) also gets --token-file, here in one place.</summary>
    public static IEnumerable<Command> All() => ConsoleOptions.WithTokenFlag(
    [
        DoctorCommand.Create(),
        QuickstartCommand.Create(),
        DataCommands.Create(),
        TokenizerCommands.Create(),
        .. TrainCommands.Create(),
        BenchCommands.Create(),
        CheckCommands.Create(),
        .. ClusterCommands.Create(),
        RunCommands.Create(),
        WorkersCommands.Create(),
        ClusterStatusCommand.Create(),
        SweepCommands.Create(),
        FitCommand.Create(),
    ]);
}
