namespace Orchestrator.Experiments.Reports.Plots;

/// <summary>
/// Every figure of a sweep report, in the order report.md shows them: what trained (train and val loss curves), what
/// it cost and bought (loss vs compute with the frontier), the law (loss vs N, IsoFLOP, residuals), then how it
/// trained (LR schedules, throughput). A figure the data cannot fill (no val losses logged, no fit) is left out.
/// </summary>
public static class ReportFigures
{
    public static IReadOnlyList<ReportFigure> Write(SweepResults r, SweepAnalysis a, string dir)
    {
        var figures = new List<ReportFigure?>
        {
            LossCurvesPlot.Write(r, dir),
            ValLossCurvesPlot.Write(r, dir),
            LossVsFlopsPlot.Write(a, dir),
        };
        if (a.Completed.Count > 0) figures.Add(LossVsNPlot.Write(a.Completed, a.Chinchilla, dir));
        if (a.IsoFlop is { } iso) figures.Add(IsoFlopPlot.Write(iso, a.Completed, dir));
        if (a.Chinchilla is { } fit) figures.Add(ResidualsPlot.Write(a.Completed, fit, dir));
        figures.Add(LrCurvesPlot.Write(r, dir));
        figures.Add(ThroughputPlot.Write(r, dir));
        return [.. figures.OfType<ReportFigure>()];
    }
}
