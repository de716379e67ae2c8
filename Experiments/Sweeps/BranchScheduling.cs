using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Experiments.Sweeps;

/// <summary>
/// The experiment grain's rules for trunks and branches. A trunk's fork checkpoints are recorded from its committed
/// checkpoints as it is polled (the run grain never drops them from its list: they are pinned), whichever attempt
/// wrote them, so a trunk that fails and is retried loses none of the forks it already made; the retry starts from
/// its newest committed checkpoint. A branch waits, queued, until its fork checkpoint is recorded, and fails only when
/// its trunk ended without reaching it.
/// </summary>
static class BranchScheduling
{
    /// <summary>A trunk's status after a poll: its new fork points and newest checkpoint noted.</summary>
    public static SweepRunStatus Observe(SweepRunStatus trunk, RunStatus run)
    {
        var pins = trunk.Plan.ForkSteps ?? [];
        var forks = trunk.ForkPoints;
        foreach (var ck in run.Checkpoints)
            if (pins.Contains(ck.Step) && !forks.Any(f => f.Step == ck.Step)) forks = forks.Add(ck);
        return trunk with
        {
            ForkPoints = [.. forks.OrderBy(f => f.Step)],
            LastCheckpoint = run.Checkpoints.IsEmpty ? trunk.LastCheckpoint : run.Checkpoints[^1].Path,
        };
    }

    /// <summary>What to do with a queued branch now.</summary>
    public static BranchReadiness Readiness(SweepRunStatus branch, IEnumerable<SweepRunStatus> runs)
    {
        var trunk = runs.First(r => r.Plan.Key == branch.Plan.Parent);
        if (trunk.ForkPoints.FirstOrDefault(f => f.Step == branch.Plan.ForkStep) is { } fork)
            return new BranchReadiness(fork.Path, RunIdOf(fork.Path), null);
        if (trunk.State is { } s && s.IsFinal())
            return new BranchReadiness(null, null,
                $"its trunk {trunk.Plan.Key} ended {s} without a checkpoint at the fork step {branch.Plan.ForkStep}");
        return new BranchReadiness(null, null, null); // wait for the trunk
    }

    /// <summary>The checkpoint a retried trunk starts from (null for a first attempt, or one that never checkpointed).</summary>
    public static string? RetryFrom(SweepRunStatus run) => run.Plan.Role == RunRole.Trunk && run.Attempts > 0 ? run.LastCheckpoint : null;

    /// <summary>Checkpoints live in RUNS/RUN-ID/ckpt-NNNNNN: the run id is the parent folder's name.</summary>
    static string RunIdOf(string checkpoint) => Path.GetFileName(Path.GetDirectoryName(checkpoint.TrimEnd('/'))) ?? "";
}

/// <summary>A branch can start (Checkpoint, from Parent's run), must wait (all null), or cannot run (Refusal).</summary>
readonly record struct BranchReadiness(string? Checkpoint, string? ParentRunId, string? Refusal);
