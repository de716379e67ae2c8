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
    /// <summary>The best distinct end points of the grid search (LSE parameters), where refits of subsets start.</summary>
    internal IReadOnlyList<double[]> Seeds { get; init; } = [];

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
        if (!HasIntervals) return new ComputeOptimalEstimate(point, null, null, null);
        var resampled = BootstrapLaws.Select(l => l.ComputeOptimal(flops)).ToList();
        return new ComputeOptimalEstimate(point, Interval.Percentile(resampled.Select(o => o.N)),
            Interval.Percentile(resampled.Select(o => o.D)), Interval.Percentile(resampled.Select(o => o.D / o.N)));
    }
}

public sealed record ChinchillaIntervals(Interval E, Interval A, Interval B, Interval Alpha, Interval Beta);

/// <summary>The optimum and its 95% intervals for N*, D* and tokens per parameter D*/N* (null without bootstrap).</summary>
public sealed record ComputeOptimalEstimate(ComputeOptimum Optimum, Interval? N, Interval? D, Interval? TokensPerParam)
{
    public double TokensPerParamValue => Optimum.D / Optimum.N;
}
