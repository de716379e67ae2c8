using Orchestrator.Experiments.Fitting;

namespace Orchestrator.Experiments.Reports.Plots;

/// <summary>ln(measured) − ln(fitted) per completed run against N, one colour per budget: structure here is what the law misses.</summary>
public static class ResidualsPlot
{
    public const string Name = "residuals";

    public static ReportFigure Write(IReadOnlyList<RunResult> done, ChinchillaFit fit, string dir)
    {
        string loss = PlotStyle.FinalLossLabel(done);
        var plot = PlotWriter.New($"Residuals of the fit: ln({loss}) − ln(fitted)", "non-embedding parameters N (log scale)", "log residual", logX: true);
        int i = 0;
        foreach (var group in Budgets.Groups(done))
        {
            var pts = group.ToList();
            var dots = plot.Add.ScatterPoints(pts.Select(p => Math.Log10(p.N)).ToArray(),
                pts.Select(p => Math.Log(p.FinalLoss!.Value) - Math.Log(fit.Law.Predict(p.N, p.D))).ToArray(), PlotWriter.Palette(i++));
            dots.MarkerSize = 9;
            dots.LegendText = group.Key;
        }
        plot.Add.HorizontalLine(0, 1, ScottPlot.Colors.Gray, ScottPlot.LinePattern.Solid);
        PlotWriter.Save(plot, dir, Name);
        return new ReportFigure(Name, $"Residuals of the fitted law, ln({loss}) − ln(predicted), per run against N (colour: budget).");
    }
}
