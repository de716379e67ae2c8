using ScottPlot;

namespace Orchestrator.Experiments.Reports.Plots;

/// <summary>
/// What every report figure shares, so one run looks the same in each: its colour says its model size N (a sequential
/// palette, viridis, smallest N darkest, stopping short of viridis' pale yellow end so lines stay visible on white), its
/// shade says its token count D among the runs of that size (the largest D in the full colour, smaller ones mixed
/// with white), raw data is drawn faint behind what is read. The labels say which loss a number is (train or val).
/// </summary>
public static class PlotStyle
{
    /// <summary>How far along viridis the largest size goes (past ~0.85 it turns pale yellow).</summary>
    const double PaletteEnd = 0.85;
    /// <summary>How much white the smallest D of a size is mixed with (0 for the largest).</summary>
    const double LightestShade = 0.5;
    public const float FaintAlpha = 0.25f;
    public const float LineWidth = 2, FaintLineWidth = 1, PointSize = 5;

    public const string TokensLogAxis = "tokens trained (log scale)";
    public const string StepAxis = "optimizer step";

    /// <summary>The y label of a train-loss axis that shows a centred mean over the raw, with the mean's half-width.</summary>
    public static string TrainLossSmoothedLabel(int halfWidthSteps) => $"train loss (mean over ±{halfWidthSteps} steps; raw faint)";

    /// <summary>
    /// The label of a run's final loss: "final val loss", unless some run reported no validation and its final loss is
    /// its train loss (then the label says so, and the table marks those runs).
    /// </summary>
    public static string FinalLossLabel(IEnumerable<RunResult> runs) =>
        runs.All(r => r.FinalLossIsVal) ? "final val loss" : "final loss (val; train where a run had no val)";

    /// <summary>The colour of each distinct model size, smallest first.</summary>
    public static IReadOnlyDictionary<long, Color> SizeColors(IEnumerable<RunResult> runs)
    {
        var sizes = runs.Select(r => r.N).Distinct().Order().ToList();
        var viridis = new ScottPlot.Colormaps.Viridis();
        return sizes.Select((n, i) => (n, viridis.GetColor(sizes.Count == 1 ? 0 : PaletteEnd * i / (sizes.Count - 1))))
            .ToDictionary(x => x.n, x => x.Item2);
    }

    /// <summary>Each run's colour: its size's colour, shaded by its D among the runs of that size.</summary>
    public static IReadOnlyDictionary<string, Color> RunColors(IReadOnlyList<RunResult> runs)
    {
        var sizes = SizeColors(runs);
        var colors = new Dictionary<string, Color>();
        foreach (var size in runs.GroupBy(r => r.N))
        {
            var ds = size.Select(r => r.D).Distinct().Order().ToList();
            foreach (var r in size)
            {
                double white = ds.Count == 1 ? 0 : LightestShade * (ds.Count - 1 - ds.IndexOf(r.D)) / (ds.Count - 1);
                colors[r.Key] = Mix(sizes[r.N], white);
            }
        }
        return colors;
    }

    static Color Mix(Color c, double white) => new(
        (byte)Math.Round(c.R + (255 - c.R) * white), (byte)Math.Round(c.G + (255 - c.G) * white), (byte)Math.Round(c.B + (255 - c.B) * white));

    public static string SizeLabel(long n) => $"N = {n:G3}";
    public static string TokensLabel(long d) => $"D = {d:G3}";

    /// <summary>
    /// Draws a curve without chords (<see cref="CurveSegments"/>): segments as lines, lone samples as points. Returns what
    /// to hang a legend entry on (the longest segment's line, a point where there is no line), or null for no samples.
    /// </summary>
    public static ScottPlot.Plottables.Scatter? Draw(Plot plot, IReadOnlyList<IReadOnlyList<Sample>> segments, Color color, float width,
        float pointSize = PointSize, float lineMarkerSize = 0)
    {
        ScottPlot.Plottables.Scatter? first = null;
        int longest = 0;
        foreach (var seg in segments)
        {
            var xs = seg.Select(s => s.X).ToArray();
            var ys = seg.Select(s => s.Y).ToArray();
            if (seg.Count == 1)
            {
                var dot = plot.Add.ScatterPoints(xs, ys, color);
                dot.MarkerSize = pointSize;
                first ??= dot;
            }
            else
            {
                var line = plot.Add.ScatterLine(xs, ys, color);
                line.LineWidth = width;
                line.MarkerSize = lineMarkerSize;
                if (seg.Count > longest) (first, longest) = (line, seg.Count);
            }
        }
        return first;
    }

    /// <summary>Axis limits that hold every value with a margin (a lone value gets a unit-wide range).</summary>
    public static (double Low, double High) Range(IEnumerable<double> values, double margin = 0.05)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var v in values.Where(double.IsFinite)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        if (lo > hi) return (0, 1);
        if (hi - lo < 1e-12) return (lo - 0.5, hi + 0.5);
        double pad = (hi - lo) * margin;
        return (lo - pad, hi + pad);
    }
}
