using Orchestrator.Cli.Hosting;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;
using Orchestrator.Dashboard.Documents;
using Orchestrator.Experiments.Fitting;
using Orchestrator.Experiments.Planning;
using Orchestrator.Experiments.Reports;
using Orchestrator.Experiments.Sweeps;
using Spectre.Console;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// Console views of a sweep, shared by the `orch sweep` commands and `orch quickstart`: the plan table, the status
/// table, the watch (live table, or one line per change where the console is not interactive) and the report's
/// summary. Invariant: views only read a status; the one thing they write is a report, into a folder the caller checked.
/// </summary>
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
            await foreach (var s in client.WatchSweepAsync(id, TimeSpan.FromSeconds(1), ct, RunView.WatchReconnect))
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
                await foreach (var s in client.WatchSweepAsync(id, TimeSpan.FromSeconds(1), ct, RunView.WatchReconnect))
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
