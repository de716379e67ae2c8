using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Experiments.Sweeps;

/// <summary>
/// What a sweep's queue top-up does with one run now (pure): wait (not queued, its lr not fitted yet, or a branch whose
/// fork checkpoint is not recorded yet), refuse it (a branch whose trunk ended without its fork), or submit it as its
/// next attempt, from where it starts: a retried trunk from its newest checkpoint, a branch from its fork with its
/// trunk's run as parent. Invariant: only a queued run (no state) is ever submitted, and a branch only once its fork
/// checkpoint is recorded.
/// </summary>
readonly record struct QueuedRun(bool Submit, string? Refusal, int Attempt, string? InitFrom, string? Parent)
{
    static readonly QueuedRun Wait = new(false, null, 0, null, null);

    /// <param name="lrFitted">Whether the sweep's lr rule is known (lr: auto runs wait for it).</param>
    public static QueuedRun Of(SweepRunStatus r, IEnumerable<SweepRunStatus> runs, bool lrFitted)
    {
        if (r.State is not null || (r.Plan.LrAuto && !lrFitted)) return Wait;
        int attempt = r.Attempts + 1;
        if (r.Plan.Role != RunRole.Branch) return new QueuedRun(true, null, attempt, BranchScheduling.RetryFrom(r), null);
        var ready = BranchScheduling.Readiness(r, runs);
        if (ready.Refusal is { } why) return new QueuedRun(false, why, attempt, null, null);
        return ready.Checkpoint is null ? Wait : new QueuedRun(true, null, attempt, ready.Checkpoint, ready.ParentRunId);
    }
}
