namespace Orchestrator.Experiments.Fitting;

/// <summary>A fitted L(N, D) with how it was found and, when bootstrapped, the resampled laws behind its intervals.</summary>
public sealed record ChinchillaFit(
    ChinchillaLaw Law,
    double Objective,
    int Points,
    int Starts,
    int ConvergedStarts,
    IReadOnlyList<ChinchillaLaw> BootstrapLaws)
{
    public bool HasIntervals => BootstrapLaws.Count > 0;

    public ChinchillaIntervals? Intervals => HasIntervals
        ? new ChinchillaIntervals(
            Interval.Percentile(BootstrapLaws.Select(l => l.E)),
            Interval.Percentile(BootstrapLaws.Select(l => l.A)),
            Interval.Percentile(BootstrapLaws.Select(l => l.B)),
            Interval.Percentile(BootstrapLaws.Select(l => l.Alpha)),
            Interval.Percentile(BootstrapLaws.Select(l => l.Beta)))
        : null;

    /// <summary>N*(C), D*(C) from the fitted law, with 95% bootstrap intervals when there are resamples.</summary>
    public ComputeOptimalEstimate ComputeOptimal(double flops)
    {
        var point = Law.ComputeOptimal(flops);
        if (!HasIntervals) return new ComputeOptimalEstimate(point, null, null);
        var resampled = BootstrapLaws.Select(l => l.ComputeOptimal(flops)).ToList();
        return new ComputeOptimalEstimate(point, Interval.Percentile(resampled.Select(o => o.N)),
            Interval.Percentile(resampled.Select(o => o.D)));
    }
}

public sealed record ChinchillaIntervals(Interval E, Interval A, Interval B, Interval Alpha, Interval Beta);

public sealed record ComputeOptimalEstimate(ComputeOptimum Optimum, Interval? N, Interval? D);
