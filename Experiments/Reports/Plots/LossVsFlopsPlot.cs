using Orchestrator.Experiments.Fitting;
using ScottPlot;

namespace Orchestrator.Experiments.Reports.Plots;

/// <summary>
/// Final loss against training compute C = 6·N·D (log x), every completed run coloured by its size, the
/// compute-optimal frontier (<see cref="ComputeFrontier"/>) drawn through the runs on it, and where a law is fitted its
/// prediction at the compute-optimal allocation, L(N*(C), D*(C)), over the same range.
/// </summary>
public static class LossVsFlopsPlot
{
    public const string Name = "loss_vs_flops";

    /// <summary>Writes the figure; null without a completed run.</summary>
    public static ReportFigure? Write(SweepAnalysis a, string dir)
    {
        var (completed, fit) = (a.Completed, a.Chinchilla);
        var points = ComputeFrontier.Points(completed);
        if (points.Count == 0) return null;
        string loss = PlotStyle.FinalLossLabel(completed);
        var plot = PlotWriter.New($"{Capitalized(loss)} vs training compute", "training compute C = 6·N·D FLOPs (log scale)", loss, logX: true);
        var colors = PlotStyle.SizeColors(completed);
        foreach (var size in points.GroupBy(p => p.N).OrderBy(g => g.Key))
        {
            var dots = plot.Add.ScatterPoints(size.Select(p => Math.Log10(p.Flops)).ToArray(), size.Select(p => p.Loss).ToArray(), colors[size.Key]);
            dots.MarkerSize = 9;
            dots.LegendText = PlotStyle.SizeLabel(size.Key);
        }
        var frontier = ComputeFrontier.Of(points);
        var line = plot.Add.ScatterLine(frontier.Select(p => Math.Log10(p.Flops)).ToArray(), frontier.Select(p => p.Loss).ToArray(), Colors.Black);
        line.LineWidth = PlotStyle.LineWidth;
        line.MarkerShape = MarkerShape.OpenCircle;
        line.MarkerSize = 13;
        line.LegendText = "compute-optimal frontier (lower envelope)";
        if (fit is not null)
        {
            double lo = Math.Log10(points.Min(p => p.Flops)), hi = Math.Log10(points.Max(p => p.Flops));
            if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
            var xs = Enumerable.Range(0, 60).Select(k => lo + (hi - lo) * k / 59).ToArray();
            var law = plot.Add.ScatterLine(xs, xs.Select(x => fit.Law.ComputeOptimal(Math.Pow(10, x)).Loss).ToArray(), Colors.Gray);
            law.LineWidth = PlotStyle.LineWidth;
            law.LegendText = a.Verdict is { Kind: FitVerdictKind.NotIdentified }
                ? "fitted law at N*(C), D*(C): not identified" : "fitted law at N*(C), D*(C)";
        }
        PlotWriter.Save(plot, dir, Name);
        return new ReportFigure(Name, $"{Capitalized(loss)} of every completed run against its compute C = 6·N·D (colour: N), the compute-optimal frontier through the runs no cheaper run beats{(fit is null ? "" : ", and the fitted law's loss at the compute-optimal N and D")}.");
    }

    static string Capitalized(string s) => char.ToUpperInvariant(s[0]) + s[1..];
}
