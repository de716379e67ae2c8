using Orchestrator.Experiments.Fitting;

namespace Orchestrator.Experiments.Reports;

/// <summary>The report's four figures: loss curves, final loss vs N with the fit, IsoFLOP profiles, residuals.</summary>
static class ReportPlots
{
    /// <summary>Up to this many curves get a colour and a legend entry each; more are coloured by model size.</summary>
    const int CurvesLabelledByRun = 10;

    public static string[] LossCurves(SweepResults r, string dir)
    {
        var plot = PlotWriter.New("Loss curves", "tokens trained (log scale)", "train loss", logX: true);
        var runs = r.Runs.Where(x => x.Curve.Any(p => p.Tokens > 0)).OrderBy(x => x.N).ThenBy(x => x.D).ToList();
        // A legend of 30 run keys hides the plot: past a few runs, one colour and one entry per size (each curve
        // ends at its run's token count, which tells the runs of a size apart).
        bool bySize = runs.Count > CurvesLabelledByRun;
        var sizes = runs.Select(x => x.N).Distinct().ToList();
        var labelled = new HashSet<long>();
        for (int i = 0; i < runs.Count; i++)
        {
            var run = runs[i];
            var pts = run.Curve.Where(p => p.Tokens > 0).ToList();
            var s = plot.Add.ScatterLine(pts.Select(p => Math.Log10(p.Tokens)).ToArray(), pts.Select(p => p.Loss).ToArray(),
                PlotWriter.Palette(bySize ? sizes.IndexOf(run.N) : i));
            if (!bySize) s.LegendText = run.Key;
            else if (labelled.Add(run.N)) s.LegendText = $"N = {run.N:G3}";
        }
        MarkBranchPoints(plot, r.Runs);
        return PlotWriter.Save(plot, dir, "loss_curves");
    }

    /// <summary>A WSD branch leaves its trunk's curve at its fork: a diamond on the trunk there, one legend entry for all.</summary>
    static void MarkBranchPoints(ScottPlot.Plot plot, IReadOnlyList<RunResult> runs)
    {
        var trunks = runs.Where(x => x.IsTrunk).ToDictionary(x => x.Key);
        bool labelled = false;
        foreach (var b in runs.Where(x => x is { Role: "Branch", Parent: not null, ForkTokens: > 0 }))
        {
            if (!trunks.TryGetValue(b.Parent!, out var trunk)) continue;
            // The trunk's last logged loss at or before the fork (the branch continues from that state).
            var at = trunk.Curve.Where(p => p.Tokens > 0 && p.Tokens <= b.ForkTokens).Select(p => (CurvePoint?)p).LastOrDefault();
            if (at is not { } p) continue;
            var m = plot.Add.Marker(Math.Log10(b.ForkTokens!.Value), p.Loss, ScottPlot.MarkerShape.FilledDiamond, 10, ScottPlot.Colors.Black);
            if (!labelled) { m.LegendText = "branch points"; labelled = true; }
        }
    }

    /// <summary>One colour per token budget (or FLOP budget): measured final losses and the fitted law's curve.</summary>
    public static string[] LossVsN(IReadOnlyList<RunResult> done, ChinchillaFit? fit, string dir)
    {
        var plot = PlotWriter.New("Final loss vs model size", "non-embedding parameters N (log scale)", "final loss", logX: true);
        int i = 0;
        foreach (var group in Groups(done))
        {
            var color = PlotWriter.Palette(i++);
            var pts = group.OrderBy(x => x.N).ToList();
            var dots = plot.Add.ScatterPoints(pts.Select(p => Math.Log10(p.N)).ToArray(), pts.Select(p => p.FinalLoss!.Value).ToArray(), color);
            dots.MarkerSize = 9;
            dots.LegendText = group.Key;
            if (fit is null || pts.Count < 2) continue;
            // The law along this group's runs: at fixed D for a token budget, at D = C/6N for a FLOP budget.
            double lo = Math.Log10(pts[0].N), hi = Math.Log10(pts[^1].N);
            var xs = Enumerable.Range(0, 50).Select(k => lo + (hi - lo) * k / 49).ToArray();
            var ys = xs.Select(x =>
            {
                double n = Math.Pow(10, x);
                double d = pts[0].FlopBudget is { } c ? c / (6 * n) : pts[0].D;
                return fit.Law.Predict(n, d);
            }).ToArray();
            // Solid: Skia's SVG backend cannot draw dash effects (it prints a warning on stdout instead).
            plot.Add.ScatterLine(xs, ys, color.WithAlpha(0.6));
        }
        return PlotWriter.Save(plot, dir, "loss_vs_n");
    }

    public static string[] IsoFlop(IsoFlopFit iso, IReadOnlyList<RunResult> done, string dir)
    {
        var plot = PlotWriter.New("IsoFLOP profiles", "non-embedding parameters N (log scale)", "final loss", logX: true);
        int i = 0;
        foreach (var m in iso.Minima)
        {
            var color = PlotWriter.Palette(i++);
            var pts = done.Where(x => x.FlopBudget == m.Flops).OrderBy(x => x.N).ToList();
            var dots = plot.Add.ScatterPoints(pts.Select(p => Math.Log10(p.N)).ToArray(), pts.Select(p => p.FinalLoss!.Value).ToArray(), color);
            dots.MarkerSize = 9;
            dots.LegendText = $"C = {m.Flops:G3}";
            double lo = Math.Log10(pts[0].N), hi = Math.Log10(pts[^1].N);
            var xs = Enumerable.Range(0, 50).Select(k => lo + (hi - lo) * k / 49).ToArray();
            plot.Add.ScatterLine(xs, xs.Select(x => m.PredictLoss(Math.Pow(10, x))).ToArray(), color);
            // Only a minimum inside the sizes tried is marked (the report's table and notes name the others): an
            // extrapolated vertex is no measurement, and drawing it would stretch the axis to wherever it falls.
            if (!m.IsInterior) continue;
            var star = plot.Add.Marker(Math.Log10(m.OptimalN), m.Loss, ScottPlot.MarkerShape.FilledDiamond, 14, color);
            star.LegendText = $"N* = {m.OptimalN:G3}";
        }
        // The profiles are U-shaped: their high ends fill the upper corners, where a legend would hide points.
        return PlotWriter.Save(plot, dir, "isoflop", legendOutside: true);
    }

    public static string[] Residuals(IReadOnlyList<RunResult> done, ChinchillaFit fit, string dir)
    {
        var plot = PlotWriter.New("Residuals of the fit: ln(measured) - ln(fitted)", "non-embedding parameters N (log scale)", "log residual", logX: true);
        int i = 0;
        foreach (var group in Groups(done))
        {
            var pts = group.ToList();
            var dots = plot.Add.ScatterPoints(pts.Select(p => Math.Log10(p.N)).ToArray(),
                pts.Select(p => Math.Log(p.FinalLoss!.Value) - Math.Log(fit.Law.Predict(p.N, p.D))).ToArray(), PlotWriter.Palette(i++));
            dots.MarkerSize = 9;
            dots.LegendText = group.Key;
        }
        plot.Add.HorizontalLine(0, 1, ScottPlot.Colors.Gray, ScottPlot.LinePattern.Solid);
        return PlotWriter.Save(plot, dir, "residuals");
    }

    /// <summary>Token budgets (smallest first), then FLOP budgets: numeric order, not the labels' string order.</summary>
    static IEnumerable<IGrouping<string, RunResult>> Groups(IReadOnlyList<RunResult> done) =>
        done.GroupBy(GroupKey).OrderBy(g => g.First().FlopBudget is null ? 0 : 1).ThenBy(g => g.First().FlopBudget ?? g.First().D);

    public static string GroupKey(RunResult r) => r.FlopBudget is { } c ? $"C = {c:G3}" : $"D = {r.D:G3}";
}
