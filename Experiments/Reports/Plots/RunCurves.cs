using ScottPlot;

namespace Orchestrator.Experiments.Reports.Plots;

/// <summary>
/// One quantity of every run's history on one plot (val loss, LR, throughput): a curve per run in its colour
/// (<see cref="PlotStyle.RunColors"/>), split where reports are missing (<see cref="CurveSegments"/>), one legend entry
/// per model size (on its largest-D run, drawn in the size's full colour). Reports without the quantity are skipped
/// before splitting, so a quantity logged every k reports (validation) is joined across its own interval only.
/// </summary>
static class RunCurves
{
    /// <summary>The plot, or null when no run has two values of the quantity (one value is no curve).</summary>
    public static Plot? Build(IReadOnlyList<RunResult> runs, Func<CurvePoint, double?> value, bool logTokens,
        string title, string yLabel, bool markers, bool windowed)
    {
        var series = runs.Select(r => (Run: r, Samples: r.Curve
                .Where(p => value(p) is { } v && double.IsFinite(v) && (!logTokens || p.Tokens > 0))
                .Select(p => new Sample(p.Step, windowed ? p.WindowSteps : 0, logTokens ? Math.Log10(p.Tokens) : p.Step, value(p)!.Value))
                .ToList()))
            .Where(x => x.Samples.Count > 0).ToList();
        if (series.Sum(x => x.Samples.Count) < 2) return null;
        var plot = PlotWriter.New(title, logTokens ? PlotStyle.TokensLogAxis : PlotStyle.StepAxis, yLabel, logX: logTokens);
        var colors = PlotStyle.RunColors([.. series.Select(x => x.Run)]);
        var labelled = series.GroupBy(x => x.Run.N).Select(g => g.MaxBy(x => x.Run.D).Run.Key).ToHashSet();
        foreach (var (run, samples) in series.OrderBy(x => x.Run.N).ThenBy(x => x.Run.D))
        {
            var first = PlotStyle.Draw(plot, CurveSegments.Split(samples), colors[run.Key], PlotStyle.LineWidth, lineMarkerSize: markers ? 4 : 0);
            if (first is not null && labelled.Contains(run.Key)) first.LegendText = PlotStyle.SizeLabel(run.N);
        }
        var all = series.SelectMany(x => x.Samples).ToList();
        var xs = PlotStyle.Range(all.Select(s => s.X), 0.02);
        var ys = PlotStyle.Range(all.Select(s => s.Y));
        plot.Axes.SetLimits(xs.Low, xs.High, ys.Low, ys.High);
        return plot;
    }
}
