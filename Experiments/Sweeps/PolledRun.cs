using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Experiments.Sweeps;

/// <summary>
/// How a sweep's record of a run changes when a poll reads the run's status (pure; the grain writes the metrics file
/// and logs): progress copied, a trunk's fork checkpoints noted, a completed run's loss and trained tokens recorded, a
/// failed run queued again while it has retries left. Invariants: every ended attempt adds one line to the record's
/// failures or its results; a run cancelled by hand is a decision, not a failure, and is never retried.
/// </summary>
static class PolledRun
{
    /// <summary>The record <paramref name="r"/> after its run <paramref name="runId"/> was seen in <paramref name="run"/>'s state.</summary>
    public static SweepRunStatus Observe(SweepSpec spec, SweepRunStatus r, string runId, RunStatus run)
    {
        var next = r with { State = run.State, Step = run.Step, TotalSteps = run.TotalSteps, Loss = run.Loss };
        if (r.Plan.Role == RunRole.Trunk) next = BranchScheduling.Observe(next, run);
        if (run.State == RunState.Completed)
        {
            next = next with
            {
                ValLoss = run.ValLoss ?? run.Loss,
                // What the run reports it trained (each step at its world's batch); the plan's figure for runs that predate it.
                TrainedTokens = run.TokensTrained > 0 ? run.TokensTrained : RunSpecs.TrainedTokens(spec, r.Plan, run.TotalSteps),
            };
        }
        else if (run.State is RunState.Failed or RunState.Cancelled)
        {
            var failures = r.Failures.Add($"attempt {r.Attempts} ({runId}): {run.State}: {run.Reason}");
            next = Retried(spec, r, run)
                ? next with { State = null, RunId = null, Step = 0, Loss = null, Failures = failures }
                : next with { Failures = failures };
        }
        return next;
    }

    /// <summary>Whether a run that ended in <paramref name="run"/>'s state is queued again: failed, with retries left.</summary>
    public static bool Retried(SweepSpec spec, SweepRunStatus r, RunStatus run) => run.State == RunState.Failed && r.Attempts <= spec.Retries;
}
