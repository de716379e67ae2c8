namespace Orchestrator.Experiments.Reports.Plots;

/// <summary>
/// Validation loss against tokens (log x) for every run that measured it, a point per measurement joined only across
/// the validation interval (a thinned-out measurement breaks the line). Colour: N, shade: D.
/// </summary>
public static class ValLossCurvesPlot
{
    public const string Name = "val_loss_curves";

    /// <summary>Writes the figure; null when the histories hold fewer than two val losses.</summary>
    public static ReportFigure? Write(SweepResults r, string dir)
    {
        var plot = RunCurves.Build(r.Runs, p => p.ValLoss, logTokens: true, "Validation loss curves", "val loss", markers: true, windowed: false);
        if (plot is null) return null;
        PlotWriter.Save(plot, dir, Name);
        return new ReportFigure(Name, "Val loss against tokens at each validation (colour: N, shade: D); no line across a skipped validation.");
    }
}
