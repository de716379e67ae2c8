using ScottPlot;

namespace Orchestrator.Experiments.Reports.Plots;

/// <summary>
/// Train loss against tokens, one panel per model size N (small multiples, shared axes). One panel per N rather than
/// one line style per D: a sweep has up to a dozen token counts per size, more than line styles a reader tells apart
/// (and Skia's SVG backend draws no dashes), while within one panel the runs differ only in D, which the shade and the
/// legend give and where each curve ends shows. Each curve: a centred mean (its half-width in steps on the axis label)
/// drawn over the raw reports drawn faint; never a line across steps no report covers (<see cref="CurveSegments"/>). A WSD trunk's
/// branch points stay marked on it. Axis limits come from the data, shared by every panel so they compare.
/// </summary>
public static class LossCurvesPlot
{
    public const string Name = "loss_curves";

    /// <summary>Writes the figure; null when no run logged a loss.</summary>
    public static ReportFigure? Write(SweepResults r, string dir)
    {
        var runs = r.Runs.Where(x => x.Curve.Any(p => p.Tokens > 0)).OrderBy(x => x.N).ThenBy(x => x.D).ToList();
        if (runs.Count == 0) return null;
        int halfWidth = SmoothingSteps(runs);
        var colors = PlotStyle.RunColors(runs);
        var raw = runs.ToDictionary(x => x.Key, x => CurveSegments.Split(
            [.. x.Curve.Where(p => p.Tokens > 0).Select(p => new Sample(p.Step, p.WindowSteps, Math.Log10(p.Tokens), p.Loss))]));
        var xs = PlotStyle.Range(raw.Values.SelectMany(s => s).SelectMany(s => s).Select(s => s.X), 0.02);
        var ys = PlotStyle.Range(raw.Values.SelectMany(s => s).SelectMany(s => s).Select(s => s.Y));

        var panels = new List<Plot>();
        foreach (var size in runs.GroupBy(x => x.N))
        {
            var plot = PlotWriter.New(PlotStyle.SizeLabel(size.Key), PlotStyle.TokensLogAxis, PlotStyle.TrainLossSmoothedLabel(halfWidth), logX: true);
            foreach (var run in size)
            {
                var color = colors[run.Key];
                PlotStyle.Draw(plot, raw[run.Key], color.WithAlpha(PlotStyle.FaintAlpha), PlotStyle.FaintLineWidth, pointSize: 3);
                var smooth = PlotStyle.Draw(plot, [.. raw[run.Key].Select(seg => CurveSegments.CentredMean(seg, halfWidth))], color, PlotStyle.LineWidth);
                if (smooth is not null) smooth.LegendText = $"{PlotStyle.TokensLabel(run.D)}{(run.Role == "Single" ? "" : $" ({run.Role.ToLowerInvariant()})")}";
            }
            MarkBranchPoints(plot, r.Runs.Where(x => x.N == size.Key).ToList());
            plot.Axes.SetLimits(xs.Low, xs.High, ys.Low, ys.High);
            plot.ShowLegend(Alignment.UpperRight);
            panels.Add(plot);
        }
        int columns = panels.Count == 1 ? 1 : panels.Count <= 4 ? 2 : 3;
        if (panels.Count == 1) PlotWriter.SaveGrid(panels, 1, dir, Name, PlotWriter.Width, PlotWriter.Height);
        else PlotWriter.SaveGrid(panels, columns, dir, Name);
        return new ReportFigure(Name, $"Train loss against tokens, one panel per model size N (shade: D); the mean over ±{halfWidth} steps over the raw reports (faint); no line across unlogged steps.");
    }

    /// <summary>
    /// The smoothing half-width: two logging intervals (the median run's smallest report spacing), so each point is the
    /// mean of about five reports: enough to calm the reports' noise, short against any run's descent. Whole steps.
    /// </summary>
    public static int SmoothingSteps(IReadOnlyList<RunResult> runs)
    {
        var intervals = runs.Select(x => CurveSegments.BaseStep([.. x.Curve.Select(p => new Sample(p.Step, p.WindowSteps, 0, 0))])).Order().ToList();
        return 2 * intervals[intervals.Count / 2];
    }

    /// <summary>A WSD branch leaves its trunk's curve at its fork: a diamond on the trunk there, one legend entry for all.</summary>
    static void MarkBranchPoints(Plot plot, IReadOnlyList<RunResult> runs)
    {
        var trunks = runs.Where(x => x.IsTrunk).ToDictionary(x => x.Key);
        bool labelled = false;
        foreach (var b in runs.Where(x => x is { Role: "Branch", Parent: not null, ForkTokens: > 0 }))
        {
            if (!trunks.TryGetValue(b.Parent!, out var trunk)) continue;
            // The trunk's last logged loss at or before the fork (the branch continues from that state).
            var at = trunk.Curve.Where(p => p.Tokens > 0 && p.Tokens <= b.ForkTokens).Select(p => (CurvePoint?)p).LastOrDefault();
            if (at is not { } p) continue;
            var m = plot.Add.Marker(Math.Log10(b.ForkTokens!.Value), p.Loss, MarkerShape.FilledDiamond, 10, Colors.Black);
            if (!labelled) { m.LegendText = "branch points"; labelled = true; }
        }
    }
}
