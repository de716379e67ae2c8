using System.CommandLine;
using Orchestrator.Cli.Hosting;
using Orchestrator.Contracts.Cluster;
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
        var all = new Option<bool>("--all") { Description = "Also list lost workers (their processes are gone); --json always lists every worker with its state" };
        var cmd = new Command("list", "Registered workers and their devices (lost ones with --all)") { all, ConsoleOptions.Json, ConsoleOptions.Coordinator, ConsoleOptions.Cluster, ConsoleOptions.Redis };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            using var host = await ConsoleOptions.ConnectAsync(pr, ct);
            if (pr.GetValue(ConsoleOptions.Json))
            {
                JsonOutput.Write(await ApiQueries.WorkersAsync(host.Client()));
                return CliAction.Ok;
            }
            var workers = await host.Client().GetGrain<ISchedulerGrain>(ISchedulerGrain.Key).ListWorkersAsync();
            List<WorkerInfo> shown = pr.GetValue(all) ? [.. workers] : [.. workers.Where(w => w.State != WorkerState.Lost)];
            var t = new TableOutput("id", "state", "device", "memory", "host", "pid", "run");
            foreach (var w in shown)
                t.Add(Markup.Escape(w.Id), w.State.ToString() + (w.Reason is null ? "" : $" ({Markup.Escape(w.Reason)})"), w.Device,
                    $"{w.MemoryBytes / (1024.0 * 1024 * 1024):F1} GiB", Markup.Escape(w.Host), $"{w.ProcessId}", Markup.Escape(w.RunId ?? "-"));
            t.Write();
            if (shown.Count < workers.Length) Console.Error.WriteLine($"{workers.Length - shown.Count} lost worker(s) not shown (--all shows them)");
            return CliAction.Ok;
        });
        return cmd;
    }
}
