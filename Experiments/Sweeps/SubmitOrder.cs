using Orchestrator.Contracts.Experiments;

namespace Orchestrator.Experiments.Sweeps;

/// <summary>
/// The order in which a sweep submits its waiting runs: the most compute first (longest-processing-time first, with the
/// plan's order breaking ties). A sweep's wall time is set by its last run to finish; started last, the largest run
/// trains alone at the end while every other slot sits idle, and packed by memory, the largest runs placed first fit
/// best. The order decides only which waiting run takes a free place first; it changes no run's result.
/// </summary>
public static class SubmitOrder
{
    /// <summary>Indices of <paramref name="plans"/>, most planned compute first, stable.</summary>
    public static int[] Of(IReadOnlyList<PlannedRun> plans) =>
        [.. Enumerable.Range(0, plans.Count).OrderByDescending(i => Compute(plans[i])).ThenBy(i => i)];

    /// <summary>6·N·D of what the run itself trains: a branch trains only from its fork step to its end.</summary>
    public static double Compute(PlannedRun p)
    {
        double tokens = p.Tokens;
        if (p.Role == RunRole.Branch && p.ForkStep is int fork && p.Steps > 0)
            tokens *= Math.Max(0, p.Steps - fork) / (double)p.Steps;
        return 6.0 * p.NonEmbeddingParams * tokens;
    }
}
