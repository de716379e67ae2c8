using System.Collections.Immutable;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;
using Orchestrator.Experiments.Planning;

namespace Orchestrator.Experiments.Search;

/// <summary>
/// What the experiment grain asks about a searched sweep on each tick. Invariant: everything it decides is derived
/// from the sweep's persisted status (rung losses, states), so a restarted coordinator decides the same; the only
/// thing it does outside the status is cancel a trial ASHA stopped, and the status records that stop (State
/// Cancelled, StoppedAtTokens) in the same save, which also keeps it from being retried or counted as a failure.
/// </summary>
public static class SearchProgress
{
    /// <summary>Trials first (they gate lr: auto), then the scaling runs, marked LrAuto with lr 0 when the fit decides it.</summary>
    public static IReadOnlyList<PlannedRun> Plan(SweepSpec spec)
    {
        var scaling = SweepPlanner.Plan(spec);
        if (spec.LrAuto) scaling = [.. scaling.Select(r => r with { Lr = 0, LrAuto = true })];
        return [.. SearchPlanner.Plan(spec), .. scaling];
    }

    /// <summary>
    /// Records the ASHA rungs trial i passed in this poll; when it must stop, returns the status of a stopped trial
    /// (the caller cancels the run and writes its curve).
    /// </summary>
    public static SweepRunStatus Observe(SweepSpec spec, IReadOnlyList<SweepRunStatus> runs, int i, SweepRunStatus next, RunStatus run, out bool stop)
    {
        var (losses, stopAt) = Asha.Advance(spec, runs, i, run);
        stop = stopAt is not null;
        next = next with { RungLosses = losses };
        return stop ? next with { State = RunState.Cancelled, StoppedAtTokens = stopAt } : next;
    }

    /// <summary>A run may be submitted: always, except an lr: auto run before every trial has ended or failed for good.</summary>
    public static bool Ready(IReadOnlyList<SweepRunStatus> runs, SweepRunStatus r) =>
        !r.Plan.LrAuto || runs.All(t => t.Plan.Trial is null || t.Ended || t.State is RunState.Failed or RunState.Cancelled);

    /// <summary>
    /// Once every trial has ended: the fitted rule and the lr: auto runs with their lr filled in. Throws
    /// ArgumentException (the caller fails those runs with its message) when the trials give no rule, e.g. a size
    /// whose every trial failed.
    /// </summary>
    public static (LrRuleFit Rule, ImmutableArray<SweepRunStatus> Runs) ApplyLrRule(SweepSpec spec, IReadOnlyList<SweepRunStatus> runs)
    {
        var rule = LrRule.Fit(SearchResults.BestPerSize(runs), fitBatch: SearchesBatch(spec));
        var tried = runs.Where(r => r.Plan.Trial is not null).Select(r => r.Plan.Trial!.Batch).DefaultIfEmpty(spec.Batch).ToList();
        return (rule, [.. runs.Select(r => r.Plan.LrAuto && r.State is null ? r with { Plan = Fitted(spec, r.Plan, rule, tried.Min(), tried.Max()) } : r)]);
    }

    /// <summary>Whether the search varies the batch (then lr: auto fits the batch rule too).</summary>
    public static bool SearchesBatch(SweepSpec spec) => spec.Search?.Params.Any(p => p.Name == "batch") == true;

    // The rule's lr, and with a batch fit its batch, kept within the searched batches (each of those was placed on a
    // device; an extrapolated larger one might not fit), and the steps that train the run's tokens at that batch.
    static PlannedRun Fitted(SweepSpec spec, PlannedRun run, LrRuleFit rule, int minBatch, int maxBatch)
    {
        run = run with { Lr = rule.LrAt(run.NonEmbeddingParams) };
        if (rule.BatchAt(run.NonEmbeddingParams) is not { } fitted) return run;
        int batch = Math.Clamp(fitted, minBatch, maxBatch);
        long perStep = (long)batch * run.Model.BlockSize * spec.WorkersPerRun;
        return run with { Batch = batch, Steps = (int)Math.Max(1, Math.Ceiling(run.Tokens / (double)perStep)) };
    }

    /// <summary>Ended: completed, or stopped by ASHA (a stopped trial is a result, not a failure).</summary>
    public static bool AllSucceeded(IEnumerable<SweepRunStatus> runs) => runs.All(r => r.Ended);
}
