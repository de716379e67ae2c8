using Orchestrator.Experiments.Fitting;

namespace Orchestrator.Experiments.Reports.Plots;

/// <summary>IsoFLOP profiles: final loss against N per FLOP budget, the fitted parabola in log N, its minimum where it lies inside the sizes tried.</summary>
public static class IsoFlopPlot
{
    public const string Name = "isoflop";

    public static ReportFigure Write(IsoFlopFit iso, IReadOnlyList<RunResult> done, string dir)
    {
        string loss = PlotStyle.FinalLossLabel(done);
        var plot = PlotWriter.New("IsoFLOP profiles", "non-embedding parameters N (log scale)", loss, logX: true);
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
        PlotWriter.Save(plot, dir, Name, legendOutside: true);
        return new ReportFigure(Name, $"IsoFLOP profiles: {loss} against N at each FLOP budget, the fitted parabola in log N and its minimum N* (diamond) where it lies inside the sizes tried.");
    }
}
