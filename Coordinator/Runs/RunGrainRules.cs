using System.Collections.Immutable;
using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;

namespace Orchestrator.Coordinator.Runs;

/// <summary>
/// Pure decisions a run's grain makes on what it is told: which offered workers to take, and what rank 0's metric
/// points change in the status. The invariant both keep: the global batch. Workers are taken only up to a world size
/// that divides it, and every point's token count is computed from the world that trained it, not from the steps.
/// </summary>
public static class RunGrainRules
{
    /// <summary>The offered workers to take: idle, of the run's device, not already members or joining, up to the
    /// largest world at most workers.max whose size keeps the global batch. Empty when none would grow the world.</summary>
    public static ImmutableArray<string> WorkersToTake(RunSpec spec, RunStatus st, ImmutableArray<WorkerInfo> offered)
    {
        int room = spec.Workers.Max - st.Workers.Length - st.Joining.Length;
        if (room <= 0) return [];
        var candidates = offered
            .Where(w => w.State == WorkerState.Idle && w.DeviceKind == spec.Device)
            .Select(w => w.Id)
            .Where(id => !st.Workers.Contains(id) && !st.Joining.Contains(id))
            .Take(room).ToImmutableArray();
        int have = st.Workers.Length + st.Joining.Length;
        int want = WorldBatch.Largest(spec, have + candidates.Length) is int world && world > have ? world - have : 0;
        return candidates.Take(want).ToImmutableArray();
    }

    /// <summary>The status after rank 0's points, each stamped with its token count (<paramref name="tokensAt"/>) and
    /// world size; the history stays bounded (<see cref="RunRecordBounds.Thin"/>).</summary>
    public static RunStatus Apply(RunStatus st, ImmutableArray<MetricPoint> reported, Func<int, long> tokensAt)
    {
        var steps = reported.Select(p => p with { Tokens = tokensAt(p.Step), WorldSize = st.WorldSize }).ToList();
        var last = steps[^1];
        return st with
        {
            Step = last.Step, Loss = last.Loss, TokensTrained = tokensAt(last.Step), TokensPerSecond = last.TokensPerSecond, Mfu = last.Mfu,
            LearningRate = last.Lr ?? st.LearningRate,
            ValLoss = reported.LastOrDefault(p => p.ValLoss is not null)?.ValLoss ?? st.ValLoss,
            History = RunRecordBounds.Thin(st.History.AddRange(steps)),
        };
    }
}
