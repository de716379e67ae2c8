using System.CommandLine;
using Orchestrator.Cli.Hosting;
using Orchestrator.Contracts.Limits;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;
using Orchestrator.Coordinator.Hosting;
using Orchestrator.Dashboard.Documents;
using Orchestrator.Experiments.Fitting;
using Orchestrator.Experiments.Planning;
using Orchestrator.Experiments.Reports;
using Orchestrator.Experiments.Specs;
using Orchestrator.Experiments.Sweeps;
using Spectre.Console;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// `orch sweep launch SWEEP.yaml [--watch]`, `orch sweep status ID [--watch]`, `orch sweep report ID --out DIR`:
/// scaling-law sweeps run by the coordinator's experiment grain, watched from the console, reported as Markdown,
/// JSON and PNG/SVG plots.
/// </summary>
public static class SweepCommands
{
    public static Command Create()
    {
        var sweep = new Command("sweep", "Launch, watch and report scaling-law sweeps");
        sweep.Subcommands.Add(Launch());
        sweep.Subcommands.Add(Status());
        sweep.Subcommands.Add(Cancel());
        sweep.Subcommands.Add(Report());
        sweep.Subcommands.Add(List());
        sweep.Subcommands.Add(Analysis());
        return sweep;
    }

    static Command List()
    {
        var cmd = new Command("list", "Every sweep launched on this cluster, with its progress") { ConsoleOptions.Json, ConsoleOptions.Coordinator, ConsoleOptions.Cluster, ConsoleOptions.Redis };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            using var host = await ConsoleOptions.ConnectAsync(pr, ct);
            var all = await ApiQueries.SweepsAsync(host.Client());
            if (pr.GetValue(ConsoleOptions.Json)) { JsonOutput.Write(all); return CliAction.Ok; }
            var t = new TableOutput("id", "state", "done", "failed", "runs", "created");
            foreach (var s in all)
                t.Add(Markup.Escape(s.Id), Markup.Escape(s.State), $"{s.Done}", $"{s.Failed}", $"{s.Total}", $"{s.CreatedAt:yyyy-MM-dd HH:mm}");
            t.Write();
            return CliAction.Ok;
        });
        return cmd;
    }

    static Command Analysis()
    {
        var id = new Argument<string>("ID") { Description = "Sweep id" };
        var bootstrap = new Option<int>("--bootstrap") { Description = $"Bootstrap resamples for the intervals and bands (0..{ApiQueries.MaxBootstrap})", DefaultValueFactory = _ => ApiQueries.DefaultBootstrap };
        var cmd = new Command("analysis", "Fit the sweep's completed runs so far (the dashboard's sweep page): law, bands, IsoFLOP minima, residuals; writes nothing")
            { id, bootstrap, ConsoleOptions.Json, ConsoleOptions.Coordinator, ConsoleOptions.Cluster, ConsoleOptions.Redis };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            int n = pr.GetValue(bootstrap);
            if (n is < 0 or > ApiQueries.MaxBootstrap) throw new BadInputException($"--bootstrap {n}: give 0..{ApiQueries.MaxBootstrap}");
            using var host = await ConsoleOptions.ConnectAsync(pr, ct);
            var fit = ApiQueries.Analyze(await host.Client().GetSweepStatusAsync(await SweepIdAsync(host.Client(), pr.GetValue(id)!)), n, ct);
            if (pr.GetValue(ConsoleOptions.Json)) JsonOutput.Write(fit.Json);
            else Console.Out.Write(ApiQueries.ReportMarkdown(fit));
            return CliAction.Ok;
        });
        return cmd;
    }

    static Command Launch()
    {
        var file = new Argument<string>("SWEEP") { Description = "Sweep YAML: name, data, storage, models/params, tokens and/or flop_budgets, batch, block_size, lr (or auto), lr_rule, seeds, workers, concurrency, retries, device, trainer, search" };
        var watch = new Option<bool>("--watch") { Description = "Then watch it until it ends" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Validate and print the plan; launch nothing" };
        var resume = new Option<bool>("--resume") { Description = "This spec's sweep was cancelled or failed: continue it (completed runs are kept, the others queued again)" };
        var cmd = new Command("launch", "Plan and launch a sweep; prints its id (a spec already launched finds its sweep: nothing trains twice)")
        { file, watch, dryRun, resume, ConsoleOptions.Json, ConsoleOptions.Coordinator, ConsoleOptions.Cluster, ConsoleOptions.Redis };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            bool json = pr.GetValue(ConsoleOptions.Json);
            var spec = SweepSpecYaml.Load(pr.GetValue(file)!); // bad specs fail here, before any connection
            var plan = Orchestrator.Experiments.Search.SearchProgress.Plan(spec);
            foreach (var w in SweepPlanner.EpochWarnings(spec, plan)) Console.Error.WriteLine($"warning: {w}");
            if (pr.GetValue(dryRun))
            {
                if (json) JsonOutput.Write(plan);
                else SweepView.PrintPlan(spec, plan);
                return CliAction.Ok;
            }
            using var host = await ConsoleOptions.ConnectAsync(pr, ct);
            var client = host.Client();
            var id = SweepClient.IdOf(spec);
            SweepStatus? existing = null;
            try { existing = await client.GetSweepStatusAsync(id); }
            catch (UnknownSweepException) { }
            var status = existing is null ? await client.LaunchSweepAsync(spec, id)
                : pr.GetValue(resume) ? await client.ResumeSweepAsync(id) : existing;
            if (existing is not null && !json)
                Console.Out.WriteLine(SweepView.Again(existing, status, pr.GetValue(file)!));
            if (pr.GetValue(watch)) return await SweepView.WatchAsync(client, status.Id, json, ct);
            if (json) JsonOutput.Write(SweepView.Json(status));
            else if (existing is null)
            {
                SweepView.PrintPlan(spec, plan);
                AnsiConsole.MarkupLineInterpolated($"launched sweep [bold]{status.Id}[/]: {plan.Count} runs, {spec.Concurrency} at a time, folder {status.Folder}");
                AnsiConsole.MarkupLineInterpolated($"watch it: orch sweep status {status.Id} --watch");
            }
            return CliAction.Ok;
        });
        return cmd;
    }

    /// <summary>The sweep meant by an id, a unique id prefix or a name (<see cref="IdResolver"/>).</summary>
    static async Task<string> SweepIdAsync(IGrainFactory client, string given) =>
        IdResolver.Resolve(given, [.. (await ApiQueries.SweepsAsync(client)).Select(s => (s.Id, s.Name))], "sweep");

    static Command Cancel()
    {
        var id = new Argument<string>("ID") { Description = "Sweep id (printed by launch; `orch sweep list`), a unique prefix of one, or a sweep's name" };
        var cmd = new Command("cancel", "Cancel a sweep: its runs in flight are cancelled, none is started; `sweep launch SPEC --resume` continues it")
        { id, ConsoleOptions.Json, ConsoleOptions.Coordinator, ConsoleOptions.Cluster, ConsoleOptions.Redis };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            using var host = await ConsoleOptions.ConnectAsync(pr, ct);
            var status = await host.Client().CancelSweepAsync(await SweepIdAsync(host.Client(), pr.GetValue(id)!), "cancelled with `orch sweep cancel`");
            if (pr.GetValue(ConsoleOptions.Json)) JsonOutput.Write(SweepView.Json(status));
            else Console.Out.WriteLine($"sweep {status.Id}: {status.State}, {status.Done}/{status.Runs.Length} runs done");
            return CliAction.Ok;
        });
        return cmd;
    }

    static Command Status()
    {
        var id = new Argument<string>("ID") { Description = "Sweep id (printed by launch), a unique prefix of one, or a sweep's name" };
        var watch = new Option<bool>("--watch") { Description = "Live progress until the sweep ends" };
        var cmd = new Command("status", "Progress of every run of a sweep") { id, watch, ConsoleOptions.Json, ConsoleOptions.Coordinator, ConsoleOptions.Cluster, ConsoleOptions.Redis };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            using var host = await ConsoleOptions.ConnectAsync(pr, ct);
            var client = host.Client();
            bool json = pr.GetValue(ConsoleOptions.Json);
            var sweepId = await SweepIdAsync(client, pr.GetValue(id)!);
            if (pr.GetValue(watch)) return await SweepView.WatchAsync(client, sweepId, json, ct);
            var status = await client.GetSweepStatusAsync(sweepId);
            if (json) JsonOutput.Write(SweepView.Json(status));
            else AnsiConsole.Write(SweepView.Table(status));
            return CliAction.Ok;
        });
        return cmd;
    }

    static Command Report()
    {
        var id = new Argument<string?>("ID") { Description = "Sweep id (or give --folder)", Arity = ArgumentArity.ZeroOrOne };
        var output = new Option<string>("--out", "-o") { Description = "New folder for report.md, report.json and the plots", Required = true };
        var folder = new Option<string?>("--folder") { Description = "Report from a sweep folder on disk, without a cluster" };
        var bootstrap = new Option<int>("--bootstrap") { Description = "Bootstrap resamples for the intervals", DefaultValueFactory = _ => 1000 };
        var cmd = new Command("report", "Fit the sweep's results and write Markdown, JSON and PNG/SVG plots") { id, output, folder, bootstrap, ConsoleOptions.Json, ConsoleOptions.Coordinator, ConsoleOptions.Cluster, ConsoleOptions.Redis };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            if (pr.GetValue(bootstrap) < 0) throw new BadInputException($"--bootstrap {pr.GetValue(bootstrap)}: give resamples >= 0");
            string outDir = Path.GetFullPath(pr.GetValue(output)!);
            if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
                throw new BadInputException($"--out '{outDir}' is not empty: give a new folder (reports are never overwritten)");
            WritableFolder.Require(outDir, "--out", keepCreated: false); // before the fit, not after it; made when written
            SweepStatus status;
            if (pr.GetValue(folder) is { } dir)
            {
                if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"--folder '{dir}' does not exist");
                status = SweepFolder.ReadStatus(dir) with { Folder = Path.GetFullPath(dir) };
            }
            else
            {
                var sweepId = pr.GetValue(id) ?? throw new BadInputException("give a sweep ID or --folder DIR");
                using var host = await ConsoleOptions.ConnectAsync(pr, ct);
                status = await host.Client().GetSweepStatusAsync(await SweepIdAsync(host.Client(), sweepId));
            }
            var (written, analysis) = SweepView.WriteReport(status, outDir, pr.GetValue(bootstrap), ct);
            if (pr.GetValue(ConsoleOptions.Json))
                JsonOutput.Write(new { report = written, fit = analysis.Chinchilla is { } f ? FitDocument.Build(f, analysis.Budgets, analysis.Verdict, analysis.Holdout, analysis.LeaveOneOut) : null, notes = analysis.Notes });
            else SweepView.PrintSummary(analysis, written);
            return CliAction.Ok;
        });
        return cmd;
    }
}

/// <summary>Console views of a sweep, shared with `orch quickstart`.</summary>
static class SweepView
{
    /// <summary>What `sweep launch` says when the spec's sweep already exists (<paramref name="now"/>: after a resume, if any).</summary>
    public static string Again(SweepStatus before, SweepStatus now, string specFile) => before.State switch
    {
        SweepState.Completed => $"sweep {now.Id} already ran this spec: {now.State}, {now.Done}/{now.Runs.Length} runs done; nothing new trained",
        SweepState.Running => $"sweep {now.Id} of this spec is running: {now.Done}/{now.Runs.Length} runs done",
        _ when now.State == SweepState.Running => $"sweep {now.Id} resumed: {now.Done}/{now.Runs.Length} runs done are kept, {now.Runs.Count(r => !r.Ended)} queued again",
        _ => $"sweep {now.Id} of this spec was {before.State} ({before.Done}/{before.Runs.Length} runs done): `orch sweep launch {specFile} --resume` continues it",
    };

    public static void PrintPlan(SweepSpec spec, IReadOnlyList<PlannedRun> plan)
    {
        var t = new Table().AddColumns("run", "layers", "width", "heads", "N (non-emb.)", "tokens D", "epochs", "steps", "lr", "FLOP budget");
        foreach (var p in plan)
            t.AddRow(Markup.Escape(p.Key), $"{p.Model.NLayer}", $"{p.Model.NEmbd}", $"{p.Model.NHead}", $"{p.NonEmbeddingParams:N0}",
                $"{p.Tokens:G3}", SweepPlanner.Epochs(spec, p) is { } ep ? (ep > 1 ? $"[yellow]{ep:F2}[/]" : $"{ep:F2}") : "-",
                $"{p.Steps}", p.LrAuto ? "auto" : $"{p.Lr:G3}", p.FlopBudget is { } c ? $"{c:G3}" : "-");
        AnsiConsole.MarkupLineInterpolated($"sweep [bold]{spec.Name}[/]: {plan.Count} runs, batch {spec.Batch} x block {spec.BlockSize} x {spec.WorkersPerRun} worker(s)");
        AnsiConsole.Write(t);
    }

    public static Table Table(SweepStatus s)
    {
        var t = new Table().AddColumns("run", "N", "D", "state", "progress", "loss", "val_loss", "attempts");
        t.Title = new TableTitle($"sweep {Markup.Escape(s.Id)}: {s.State}, {s.Done}/{s.Runs.Length} done" + (s.Failed > 0 ? $", {s.Failed} failed" : ""));
        foreach (var r in s.Runs)
        {
            double frac = r.TotalSteps > 0 ? Math.Clamp(r.Step / (double)r.TotalSteps, 0, 1) : 0;
            int filled = (int)Math.Round(frac * 10);
            string bar = r.State is null ? "" : $"{new string('█', filled)}{new string('░', 10 - filled)} {r.Step}/{r.TotalSteps}";
            string key = r.Plan.Role switch
            {
                RunRole.Trunk => $"{r.Plan.Key} (trunk)",
                RunRole.Branch => $"{r.Plan.Key} (branch at step {r.Plan.ForkStep})",
                _ => r.Plan.Key,
            };
            t.AddRow(Markup.Escape(key), $"{r.Plan.NonEmbeddingParams:G3}", $"{r.TrainedTokens ?? r.Plan.Tokens:G3}",
                r.State is { } st ? RunView.StateMarkup(st) : "[grey]queued[/]", bar,
                r.Loss?.ToString("F4") ?? "-", r.ValLoss?.ToString("F4") ?? "-", r.Failures.IsEmpty ? $"{r.Attempts}" : $"[orange1]{r.Attempts}[/]");
        }
        return t;
    }

    /// <summary>
    /// What changed between two polls, one line each: a run that ended (its key, state, run id, train loss and
    /// val_loss), then the sweep's count when anything ended.
    /// </summary>
    static IEnumerable<string> Changes(SweepStatus before, SweepStatus now)
    {
        bool any = false;
        foreach (var r in now.Runs)
        {
            var was = before.Runs.FirstOrDefault(b => b.Plan.Key == r.Plan.Key);
            if (r.State is not { } st || !st.IsFinal() || (was?.State == st && was.RunId == r.RunId)) continue;
            any = true;
            yield return $"run {r.Plan.Key} {st} ({r.RunId ?? "-"}): loss {r.Loss?.ToString("F4") ?? "-"}, val_loss {r.ValLoss?.ToString("F4") ?? "-"}";
        }
        if (any && !now.IsFinal) yield return Count(now); // the final count is printed once the watch ends
    }

    static string Count(SweepStatus s) => $"{s.Done}/{s.Runs.Length} done, {s.Failed} failed, {s.State}";

    /// <summary>Live table until the sweep ends (JSON mode: only the final status). Exit 1 if any run failed for good.</summary>
    public static async Task<int> WatchAsync(IGrainFactory client, string id, bool json, CancellationToken ct)
    {
        SweepStatus last = await client.GetSweepStatusAsync(id);
        if (json || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            await foreach (var s in client.WatchSweepAsync(id, TimeSpan.FromSeconds(1), ct))
            {
                if (!json)
                    foreach (var line in Changes(last, s)) Console.Out.WriteLine($"{DateTime.Now:HH:mm:ss} sweep {s.Id}: {line}");
                last = s;
            }
            if (!json) Console.Out.WriteLine($"{DateTime.Now:HH:mm:ss} sweep {last.Id}: {Count(last)}");
        }
        else
        {
            await AnsiConsole.Live(Table(last)).StartAsync(async ctx =>
            {
                await foreach (var s in client.WatchSweepAsync(id, TimeSpan.FromSeconds(1), ct))
                {
                    ctx.UpdateTarget(Table(s));
                    last = s;
                }
            });
        }
        if (json) JsonOutput.Write(Json(last));
        return last.State == SweepState.Completed ? CliAction.Ok : CliAction.Failure;
    }

    public static (string Dir, SweepAnalysis Analysis) WriteReport(SweepStatus status, string outDir, int bootstrap, CancellationToken ct)
    {
        var results = SweepFolder.LoadResults(status);
        var analysis = SweepAnalysis.Analyze(results, bootstrap, ct);
        return (SweepReportWriter.Write(results, analysis, outDir), analysis);
    }

    public static void PrintSummary(SweepAnalysis a, string outDir)
    {
        if (a.Verdict is { } verdict)
        {
            AnsiConsole.MarkupLine((verdict.Identified ? "[green]" : verdict.Kind == FitVerdictKind.NotIdentified ? "[red]" : "[yellow]") + Markup.Escape(verdict.Headline) + "[/]");
            foreach (var r in verdict.Reasons) AnsiConsole.MarkupLine("  - " + Markup.Escape(r));
        }
        foreach (var p in a.Holdout?.Predictions ?? [])
            AnsiConsole.MarkupLine(Markup.Escape($"hold-out {p.Key}: predicted {p.Predicted:F4}" + (p.PredictedInterval is { } i ? " " + i.Format("F4") : "") + $", actual {p.Point.Loss:F4} ({p.RelativeError:+0.00%;-0.00%})"));
        if (a.LeaveOneOut is { } loo)
            AnsiConsole.MarkupLine(Markup.Escape($"leave-one-out over {loo.Predictions.Count} runs: mean |error| {loo.MeanAbsRelativeError:P2}, worst {Math.Abs(loo.Worst.RelativeError):P2} ({loo.Worst.Key})"));
        if (a.Chinchilla is { } fit)
        {
            var l = fit.Law;
            AnsiConsole.MarkupLine($"[bold]L(N, D) = {l.E:G4} + {l.A:G4}/N^{l.Alpha:F3} + {l.B:G4}/D^{l.Beta:F3}[/]");
            if (fit.Intervals is { } ci)
                AnsiConsole.MarkupLine(Markup.Escape($"95% intervals: alpha {ci.Alpha.Format("F3")}, beta {ci.Beta.Format("F3")}, E {ci.E.Format("G3")}"));
            foreach (var c in a.Budgets)
            {
                var e = fit.ComputeOptimal(c);
                string n = e.N is { } ni ? Markup.Escape(" " + ni.Format("G3")) : "";
                AnsiConsole.MarkupLine($"compute-optimal at C = {c:G3} FLOPs: N* = [bold]{e.Optimum.N:G3}[/]{n} parameters, D* = {e.Optimum.D:G3} tokens ({e.Optimum.D / e.Optimum.N:F1} tokens/param)");
            }
        }
        foreach (var p in a.LossVsN) AnsiConsole.MarkupLineInterpolated($"Kaplan L({p.Axis}) = ({p.Scale:G3}/N)^{p.Exponent:F3}  (R² {p.RSquared:F3})");
        if (a.IsoFlop is { NExponent: { } an } iso) AnsiConsole.MarkupLineInterpolated($"IsoFLOP: N* ∝ C^{an:F3}, D* ∝ C^{iso.DExponent:F3}");
        foreach (var n in a.Notes) AnsiConsole.MarkupLineInterpolated($"[yellow]note:[/] {n}");
        AnsiConsole.MarkupLineInterpolated($"report: {Path.Combine(outDir, "report.md")} (JSON, PNG and SVG plots beside it)");
    }

    public static SweepJson Json(SweepStatus s) => SweepJson.From(s);
}
