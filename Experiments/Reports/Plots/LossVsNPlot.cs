using Orchestrator.Experiments.Fitting;

namespace Orchestrator.Experiments.Reports.Plots;

/// <summary>Final loss against N, one colour per token budget (or FLOP budget): the measured losses and the fitted law's curve.</summary>
public static class LossVsNPlot
{
    public const string Name = "loss_vs_n";

    public static ReportFigure Write(IReadOnlyList<RunResult> done, ChinchillaFit? fit, string dir)
    {
        string loss = PlotStyle.FinalLossLabel(done);
        var plot = PlotWriter.New($"{char.ToUpperInvariant(loss[0])}{loss[1..]} vs model size", "non-embedding parameters N (log scale)", loss, logX: true);
        int i = 0;
        foreach (var group in Budgets.Groups(done))
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
        PlotWriter.Save(plot, dir, Name);
        return new ReportFigure(Name, $"{char.ToUpperInvariant(loss[0])}{loss[1..]} against N per token (or FLOP) budget{(fit is null ? "" : ", with the fitted law along each budget (lines)")}.");
    }
}
