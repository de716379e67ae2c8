using System.CommandLine;
using System.Globalization;
using Orchestrator.Cli.Hosting;
using Orchestrator.Contracts.Workers;
using Orchestrator.Coordinator.Hosting;
using Orchestrator.Dashboard.Documents;
using Spectre.Console;

namespace Orchestrator.Cli.Commands;

/// <summary>`orch workers list|scale`.</summary>
public static class WorkersCommands
{
    public static Command Create()
    {
        var workers = new Command("workers", "List and scale workers");
        workers.Subcommands.Add(List());
        workers.Subcommands.Add(WorkersScaleCommand.Create());
        return workers;
    }

    static Command List()
    {
        var window = $"{WorkerAging.LostShownFor.TotalMinutes:F0} minutes";
        var all = new Option<bool>("--all") { Description = $"Every worker the coordinator keeps, with when each lost one was lost (without it: live workers and those lost within the last {window})" };
        var cmd = new Command("list", $"Registered workers and their devices: live ones and those lost within the last {window} (every one with --all)")
            { all, ConsoleOptions.Json, ConsoleOptions.Coordinator, ConsoleOptions.Cluster, ConsoleOptions.Redis };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            using var host = await ConsoleOptions.ConnectAsync(pr, ct);
            var shown = await ApiQueries.WorkersAsync(host.Client(), pr.GetValue(all));
            if (pr.GetValue(ConsoleOptions.Json))
            {
                JsonOutput.Write(shown);
                return CliAction.Ok;
            }
            bool anyLost = shown.Any(w => w.LostAt is not null);
            string[] columns = anyLost ? ["id", "state", "device", "memory", "host", "pid", "run", "lost at"] : ["id", "state", "device", "memory", "host", "pid", "run"];
            var t = new TableOutput(columns);
            foreach (var w in shown)
            {
                string[] row = [Markup.Escape(w.Id), w.State + (w.Reason is null ? "" : $" ({Markup.Escape(w.Reason)})"), w.Device,
                    $"{w.MemoryBytes / (1024.0 * 1024 * 1024):F1} GiB", Markup.Escape(w.Host), $"{w.ProcessId}", Markup.Escape(w.RunId ?? "-")];
                t.Add(anyLost ? [.. row, w.LostAt is { } at ? at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "-"] : row);
            }
            t.Write();
            if (!pr.GetValue(all) && (await ApiQueries.WorkersAsync(host.Client(), all: true)).Length - shown.Length is var hidden and > 0)
                Console.Error.WriteLine($"{hidden} worker(s) lost more than {window} ago not shown (--all shows them)");
            return CliAction.Ok;
        });
        return cmd;
    }
}
