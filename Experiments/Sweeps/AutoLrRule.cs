using System.Collections.Immutable;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;
using Orchestrator.Experiments.Search;

namespace Orchestrator.Experiments.Sweeps;

/// <summary>
/// When an <c>lr: auto</c> sweep fits its learning-rate rule, and what fitting does to its queue (pure): every queued
/// lr: auto run gets its learning rate, or, when the rule cannot be fitted, fails with the reason. Invariant: the rule
/// is fitted once (only while the sweep has none), and only once the runs it is fitted on are ready.
/// </summary>
static class AutoLrRule
{
    /// <summary>Whether the rule is due now: lr: auto runs still queued, no rule yet, and its search runs ready.</summary>
    public static bool Due(SweepSpec spec, LrRuleFit? rule, IReadOnlyList<SweepRunStatus> runs) =>
        spec.LrAuto && rule is null && runs.Any(r => r.Plan.LrAuto && r.State is null) && SearchProgress.Ready(runs, runs.First(r => r.Plan.LrAuto));

    /// <summary>The fitted rule and the runs with their learning rates; or no rule and the queued lr: auto runs failed.</summary>
    public static (LrRuleFit? Rule, ImmutableArray<SweepRunStatus> Runs) Apply(SweepSpec spec, IReadOnlyList<SweepRunStatus> runs)
    {
        try { return SearchProgress.ApplyLrRule(spec, runs); }
        catch (ArgumentException e)
        {
            return (null, [.. runs.Select(r => r.Plan.LrAuto && r.State is null
                ? r with { State = RunState.Failed, Failures = r.Failures.Add($"no lr: {e.Message}") }
                : r)]);
        }
    }
}
