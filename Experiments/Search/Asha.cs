using System.Collections.Immutable;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Experiments.Search;

/// <summary>
/// ASHA's stopping rule, pure. Invariant: a decision depends only on the losses already recorded at the rung (by the
/// trials of the same model, in the order they reached it) and the trial's own loss there, so it is the same after
/// a coordinator restart (the recorded losses live in the sweep's status) and can be computed by hand: with n losses
/// at the rung counting the new one, the trial goes on iff fewer than max(1, ⌊n/η⌋) earlier losses are ≤ its own
/// (ties favour the trial that got there first). The first trial to reach a rung always goes on, as in ASHA.
/// </summary>
public static class Asha
{
    public static bool Continues(double loss, IReadOnlyCollection<double> earlier, int reductionFactor)
    {
        if (reductionFactor < 2) throw new ArgumentOutOfRangeException(nameof(reductionFactor), "the reduction factor must be >= 2");
        int keep = Math.Max(1, (earlier.Count + 1) / reductionFactor);
        int ahead = earlier.Count(l => l <= loss || double.IsNaN(loss));
        return ahead < keep;
    }

    /// <summary>
    /// Records the rungs trial <paramref name="i"/> passed in <paramref name="run"/> (its loss at the first history
    /// point at or past each rung) and decides each. Returns the trial's rung losses and, when it must stop, the rung's
    /// tokens. A run that already ended is recorded (later trials compare against it) but never stopped.
    /// </summary>
    public static (ImmutableArray<double> RungLosses, long? StopAt) Advance(SweepSpec spec, IReadOnlyList<SweepRunStatus> runs, int i, RunStatus run)
    {
        var r = runs[i];
        if (r.Plan.Trial is not { } trial || spec.Search?.EarlyStop is not { } asha || run.State is RunState.Failed or RunState.Cancelled)
            return (r.RungLosses, null);
        long perStep = (long)trial.Batch * r.Plan.Model.BlockSize * spec.WorkersPerRun;
        var losses = r.RungLosses.ToBuilder();
        for (int k = losses.Count; k < asha.Rungs.Length; k++)
        {
            int rungStep = (int)((asha.Rungs[k] + perStep - 1) / perStep);
            var point = run.History.FirstOrDefault(h => h.Step >= rungStep);
            if (point is null) break;
            var earlier = new List<double>();
            for (int j = 0; j < runs.Count; j++)
                if (j != i && runs[j].Plan.Trial is not null && runs[j].Plan.Model == r.Plan.Model && runs[j].RungLosses.Length > k)
                    earlier.Add(runs[j].RungLosses[k]);
            losses.Add(point.Loss);
            if (run.State != RunState.Completed && !Continues(point.Loss, earlier, asha.ReductionFactor))
                return (losses.ToImmutable(), asha.Rungs[k]);
        }
        return (losses.ToImmutable(), null);
    }
}
