namespace Orchestrator.Experiments.Reports.Plots;

/// <summary>
/// The learning rate against the optimizer step (linear axes, where a schedule's shape reads: a cosine's curve, a WSD
/// trunk's flat stable phase, its branches' cooldowns), per run. Colour: N, shade: D.
/// </summary>
public static class LrCurvesPlot
{
    public const string Name = "lr_curves";

    /// <summary>Writes the figure; null when the histories hold fewer than two learning rates.</summary>
    public static ReportFigure? Write(SweepResults r, string dir)
    {
        var plot = RunCurves.Build(r.Runs, p => p.Lr, logTokens: false, "Learning-rate schedules", "learning rate (at each report's last step)", markers: false, windowed: true);
        if (plot is null) return null;
        PlotWriter.Save(plot, dir, Name);
        return new ReportFigure(Name, "Learning rate against step per run (colour: N, shade: D): the schedule each run trained with.");
    }
}
