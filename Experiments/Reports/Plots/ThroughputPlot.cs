namespace Orchestrator.Experiments.Reports.Plots;

/// <summary>Training throughput (tokens/s as the trainer reports it, the mean over each report's window) against the optimizer step, per run.</summary>
public static class ThroughputPlot
{
    public const string Name = "throughput";

    /// <summary>Writes the figure; null when the histories hold fewer than two throughputs.</summary>
    public static ReportFigure? Write(SweepResults r, string dir)
    {
        var plot = RunCurves.Build(r.Runs, p => p.TokensPerSecond, logTokens: false, "Training throughput", "train tokens/s (mean over each report's window)", markers: false, windowed: true);
        if (plot is null) return null;
        PlotWriter.Save(plot, dir, Name);
        return new ReportFigure(Name, "Train throughput in tokens/s against step per run (colour: N, shade: D).");
    }
}
