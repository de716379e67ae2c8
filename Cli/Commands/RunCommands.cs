using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Orchestrator.Cli.Hosting;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Runs;
using Orchestrator.Coordinator.Hosting;
using Orchestrator.Coordinator.Runs;
using Orchestrator.Dashboard.Documents;
using Spectre.Console;

namespace Orchestrator.Cli.Commands;

/// <summary>`orch run submit|status|cancel|list` (and `logs`, <see cref="RunLogsCommand"/>): the console of training runs (tables, live progress, --json).</summary>
public static class RunCommands
{
    public static Command Create()
    {
        var run = new Command("run", "Submit, watch and cancel training runs, and read their logs");
        run.Subcommands.Add(Submit());
        run.Subcommands.Add(Status());
        run.Subcommands.Add(Cancel());
        run.Subcommands.Add(List());
        run.Subcommands.Add(RunLogsCommand.Create());
        return run;
    }

    static Command Submit()
    {
        var spec = new Argument<string>("SPEC") { Description = "RunSpec YAML file (docs/CLI.md)" };
        var watch = new Option<bool>("--watch") { Description = "Then watch it until it ends" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Check the spec and its files on this machine (data folder, corpus block size, init_from); submit nothing" };
        var cmd = new Command("submit", "Submit a run; prints its id") { spec, watch, dryRun, ConsoleOptions.Json, ConsoleOptions.Coordinator, ConsoleOptions.Cluster, ConsoleOptions.Redis };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            var parsed = RunSpecYaml.Load(pr.GetValue(spec)!);
            RunSpecValidator.Validate(parsed); // bad input fails here, before any connection
            if (pr.GetValue(dryRun))
            {
                RunPreflight.Check(parsed);
                if (pr.GetValue(ConsoleOptions.Json))
                    JsonOutput.Write(new { parsed.Name, TotalSteps = parsed.ResolvedSteps, WorkersMin = parsed.Workers.Min, WorkersMax = parsed.Workers.Max, parsed.Data, Ok = true });
                else Console.Out.WriteLine($"ok: run {parsed.Name}: {parsed.ResolvedSteps} steps on {parsed.Workers.Min}..{parsed.Workers.Max} workers" +
                    (parsed.Trainer == "gpt" ? $", data {parsed.Data}" : $", {parsed.Trainer} trainer") + "; nothing submitted");
                return CliAction.Ok;
            }
            // A loopback cluster sees the files as its workers do: its runs' missing files are refused here, not after a worker took the run.
            if (ConsoleOptions.Resolve(pr) is { Redis: null, Gateway: var gw } && System.Net.IPAddress.IsLoopback(gw.Address)) RunPreflight.Check(parsed);
            using var host = await ConsoleOptions.ConnectAsync(pr, ct);
            var status = await host.Client().SubmitRunAsync(parsed);
            if (pr.GetValue(watch)) return await RunView.WatchAsync(host.Client(), status.Id, pr.GetValue(ConsoleOptions.Json), ct);
            if (pr.GetValue(ConsoleOptions.Json)) JsonOutput.Write(RunJson.From(status));
            else AnsiConsole.MarkupLineInterpolated($"submitted run [bold]{status.Id}[/]: {status.TotalSteps} steps, {parsed.Workers.Min}..{parsed.Workers.Max} workers");
            return CliAction.Ok;
        });
        return cmd;
    }

    static Command Status()
    {
        var id = new Argument<string?>("ID") { Description = "Run id, a unique prefix of one, or a run's name (default: the newest run)", Arity = ArgumentArity.ZeroOrOne };
        var watch = new Option<bool>("--watch") { Description = "Live progress until the run ends" };
        var cmd = new Command("status", "Status of a run: state, step, loss, tokens/s, world size, generation, checkpoints") { id, watch, ConsoleOptions.Json, ConsoleOptions.Coordinator, ConsoleOptions.Cluster, ConsoleOptions.Redis };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            using var host = await ConsoleOptions.ConnectAsync(pr, ct);
            var client = host.Client();
            var runId = pr.GetValue(id) is { } given ? await RunIdAsync(client, given)
                : (await client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Key).ListRunsAsync()).LastOrDefault()
                ?? throw new BadInputException("no runs yet (submit one with `orch run submit SPEC.yaml`)");
            if (pr.GetValue(watch)) return await RunView.WatchAsync(client, runId, pr.GetValue(ConsoleOptions.Json), ct);
            if (pr.GetValue(ConsoleOptions.Json)) JsonOutput.Write(await ApiQueries.RunAsync(client, runId));
            else RunView.Print(await client.GetRunStatusAsync(runId));
            return CliAction.Ok;
        });
        return cmd;
    }

    /// <summary>The run meant by an id, a unique id prefix or a name (<see cref="IdResolver"/>); names are read only when no id matches.</summary>
    internal static async Task<string> RunIdAsync(IGrainFactory client, string given)
    {
        var ids = await client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Key).ListRunsAsync();
        if (ids.Contains(given)) return given;
        if (ids.Count(i => i.StartsWith(given, StringComparison.Ordinal)) is var n && n >= 1)
            return IdResolver.Resolve(given, [.. ids.Select(i => (i, ""))], "run");
        return IdResolver.Resolve(given, [.. (await ApiQueries.RunsAsync(client)).Select(r => (r.Id, r.Name))], "run");
    }

    static Command Cancel()
    {
        var id = new Argument<string>("ID") { Description = "Run id, a unique prefix of one, or a run's name" };
        var cmd = new Command("cancel", "Cancel a run (ranks stop at their next step boundary)") { id, ConsoleOptions.Json, ConsoleOptions.Coordinator, ConsoleOptions.Cluster, ConsoleOptions.Redis };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            using var host = await ConsoleOptions.ConnectAsync(pr, ct);
            var status = await host.Client().CancelRunAsync(await RunIdAsync(host.Client(), pr.GetValue(id)!));
            if (pr.GetValue(ConsoleOptions.Json)) JsonOutput.Write(RunJson.From(status));
            else AnsiConsole.MarkupLineInterpolated($"run [bold]{status.Id}[/]: {status.State} ({status.Reason})");
            return CliAction.Ok;
        });
        return cmd;
    }

    static Command List()
    {
        var cmd = new Command("list", "Every run with its state and progress") { ConsoleOptions.Json, ConsoleOptions.Coordinator, ConsoleOptions.Cluster, ConsoleOptions.Redis };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            using var host = await ConsoleOptions.ConnectAsync(pr, ct);
            var client = host.Client();
            var all = await ApiQueries.RunsAsync(client);
            if (pr.GetValue(ConsoleOptions.Json)) { JsonOutput.Write(all); return CliAction.Ok; }
            var t = new TableOutput("id", "state", "step", "loss", "tokens/s", "world", "generation", "checkpoints", "sweep");
            foreach (var s in all)
                t.Add(Markup.Escape(s.Id), RunView.StateMarkup(Enum.Parse<RunState>(s.State)), $"{s.Step}/{s.TotalSteps}", s.Loss?.ToString("F4") ?? "-",
                    s.TokensPerSecond?.ToString("N0") ?? "-", $"{s.WorldSize}", $"{s.Generation}", $"{s.Checkpoints.Count}", Markup.Escape(s.Sweep ?? "-"));
            t.Write();
            return CliAction.Ok;
        });
        return cmd;
    }
}

/// <summary>Human output of a run: a status table, and live progress (step / total, loss, tokens/s, ETA, world, generation).</summary>
static class RunView
{
    public static string StateMarkup(RunState s) => s switch
    {
        RunState.Completed => "[green]Completed[/]",
        RunState.Failed => "[red]Failed[/]",
        RunState.Cancelled => "[yellow]Cancelled[/]",
        RunState.Recovering => "[orange1]Recovering[/]",
        _ => s.ToString(),
    };

    public static void Print(RunStatus s)
    {
        var t = new Table().AddColumns("run", Markup.Escape(s.Id));
        t.AddRow("state", StateMarkup(s.State) + (s.Reason is null ? "" : $" ({Markup.Escape(s.Reason)})"));
        t.AddRow("step", $"{s.Step} / {s.TotalSteps}");
        if (s.Spec is { InitFrom: { } from } spec)
            t.AddRow("forked from", Markup.Escape($"{spec.Parent ?? from} at step {spec.ForkStep?.ToString() ?? "?"} ({from}); schedule {spec.Schedule}"));
        t.AddRow("loss", s.Loss?.ToString("F4") ?? "-");
        if (s.ValLoss is { } v) t.AddRow("val loss", v.ToString("F4"));
        t.AddRow("tokens/s", s.TokensPerSecond?.ToString("N0") ?? "-");
        if (s.Mfu is { } m) t.AddRow("MFU", m.ToString("P1"));
        if (s.LearningRate is { } lr) t.AddRow("learning rate", lr.ToString("E2"));
        t.AddRow("elapsed", RunProgress.Format(RunProgress.Elapsed(s, DateTimeOffset.UtcNow)) + (s.State.IsFinal() ? "" : $", ETA {RunProgress.Format(RunProgress.Eta(s))}"));
        t.AddRow("world size", $"{s.WorldSize} (generation {s.Generation})");
        if (s.TokensTrained > 0) t.AddRow("tokens trained", s.TokensTrained.ToString("N0"));
        t.AddRow("workers", Markup.Escape(string.Join(", ", s.Workers)) + (s.Joining.IsEmpty ? "" : $" (joining: {Markup.Escape(string.Join(", ", s.Joining))})"));
        t.AddRow("checkpoints", s.Checkpoints.IsEmpty ? "-" : Markup.Escape(string.Join("\n", s.Checkpoints.Select(c => $"step {c.Step}: {c.Path}"))));
        if (s.Phases is { } p)
            t.AddRow("wall time", $"{p.Total:F1} s: steps {p.Steps:F1}, first-step warm-up {p.FirstStep:F1}, build {p.Build:F1}, start-up {p.Startup:F1}, " +
                $"rendezvous {p.Rendezvous:F1}, eval+checkpoints {p.EvalAndCheckpoint:F1}, reports {p.Reports:F1}");
        AnsiConsole.Write(t);
        var h = new Table().AddColumns("at", "state", "generation", "reason");
        foreach (var tr in s.Transitions) h.AddRow($"{tr.At:HH:mm:ss}", StateMarkup(tr.State), $"{tr.Generation}", Markup.Escape(tr.Reason));
        AnsiConsole.Write(h);
    }

    /// <summary>How long a watch (or a log follow) asks a silent coordinator again before it says the coordinator is gone.</summary>
    internal static readonly TimeSpan WatchReconnect = TimeSpan.FromSeconds(10);

    /// <summary>Polls the run until it ends. JSON mode prints only the final status (one document).</summary>
    public static async Task<int> WatchAsync(IGrainFactory client, string runId, bool json, CancellationToken ct)
    {
        RunStatus last = await client.GetRunStatusAsync(runId);
        if (json || Console.IsOutputRedirected)
        {
            await foreach (var s in client.WatchRunAsync(runId, TimeSpan.FromMilliseconds(500), ct, WatchReconnect))
            {
                if (!json && (s.Step != last.Step || s.State != last.State)) System.Console.Out.WriteLine($"{DateTime.Now:HH:mm:ss} {Line(s)}");
                last = s;
            }
        }
        else
        {
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask(Markup.Escape(Line(last)), maxValue: Math.Max(1, last.TotalSteps));
                    await foreach (var s in client.WatchRunAsync(runId, TimeSpan.FromMilliseconds(500), ct, WatchReconnect))
                    {
                        task.Description = Markup.Escape(Line(s));
                        task.Value = s.Step;
                        last = s;
                    }
                    task.StopTask();
                });
        }
        if (json) JsonOutput.Write(await ApiQueries.RunAsync(client, last.Id));
        else AnsiConsole.MarkupLine($"{Markup.Escape(last.Id)}: {StateMarkup(last.State)} ({Markup.Escape(last.Reason ?? "")})");
        return last.State == RunState.Completed ? CliAction.Ok : CliAction.Failure;
    }

    /// <summary>One watch line: progress, train (and val) loss, the windowed rate, LR, elapsed and ETA.</summary>
    static string Line(RunStatus s) =>
        $"{s.Id} {s.State} step {s.Step}/{s.TotalSteps} loss {s.Loss?.ToString("F4") ?? "-"}" +
        (s.ValLoss is { } v ? $" val_loss {v:F4}" : "") +
        $" {s.TokensPerSecond?.ToString("N0") ?? "-"} tok/s" + (s.LearningRate is { } lr ? $" lr {lr:E2}" : "") +
        $" elapsed {RunProgress.Format(RunProgress.Elapsed(s, DateTimeOffset.UtcNow))}" +
        (s.State.IsFinal() ? "" : $" ETA {RunProgress.Format(RunProgress.Eta(s))}") + $" world {s.WorldSize} generation {s.Generation}";
}

