using System.CommandLine;
using Orchestrator.Cli.Hosting;
using Orchestrator.Coordinator.Hosting;
using Orchestrator.Dashboard.Documents;
using Spectre.Console;

namespace Orchestrator.Cli.Commands;

/// <summary>`orch cluster status`: the coordinator's health, every silo process, the workers, runs and sweeps by state (the dashboard's cluster page).</summary>
public static class ClusterStatusCommand
{
    public static Command Create()
    {
        var cluster = new Command("cluster", "The cluster at a glance");
        var status = new Command("status", "Coordinator health, processes, workers, and runs and sweeps by state") { ConsoleOptions.Json, ConsoleOptions.Coordinator, ConsoleOptions.Cluster, ConsoleOptions.Redis };
        CliAction.Set(status, async (pr, ct) =>
        {
            using var host = await ConsoleOptions.ConnectAsync(pr, ct);
            var c = await ApiQueries.ClusterAsync(host.Client());
            if (pr.GetValue(ConsoleOptions.Json)) { JsonOutput.Write(c); return CliAction.Ok; }
            AnsiConsole.MarkupLineInterpolated($"coordinator: {(c.Coordinator is { } k ? $"{k.Status} at {k.Address}, up {TimeSpan.FromSeconds(Math.Round(k.UptimeSeconds))}" : "not found")}");
            var t = new Table().AddColumns("process", "address", "status", "started", "heartbeat");
            foreach (var s in c.Silos) t.AddRow(Markup.Escape(s.Name), Markup.Escape(s.Address), s.Status, $"{s.StartedAt:HH:mm:ss}", $"{s.LastHeartbeat:HH:mm:ss}");
            AnsiConsole.Write(t);
            AnsiConsole.MarkupLineInterpolated($"workers: {c.Workers.Count} ({string.Join(", ", c.Workers.GroupBy(w => w.State).Select(g => $"{g.Count()} {g.Key}"))})");
            AnsiConsole.MarkupLineInterpolated($"runs: {string.Join(", ", c.Runs.Select(kv => $"{kv.Value} {kv.Key}"))}");
            AnsiConsole.MarkupLineInterpolated($"sweeps: {string.Join(", ", c.Sweeps.Select(kv => $"{kv.Value} {kv.Key}"))}");
            return CliAction.Ok;
        });
        cluster.Subcommands.Add(status);
        return cluster;
    }
}
