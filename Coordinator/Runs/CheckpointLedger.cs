using System.Collections.Immutable;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Coordinator.Runs;

/// <summary>
/// Which checkpoints of a run are committed and kept. A checkpoint is per-rank shards, so it counts only once every
/// rank of the generation has reported its shard written; until then it is not resumable and is not listed. The
/// kept list is keep-last-N, except a trunk's fork points (checkpoint.at), which stay: a sweep's branches start from
/// them later. The risk it guards: pruning a fork point, or listing a checkpoint some rank never finished.
/// </summary>
public static class CheckpointLedger
{
    /// <summary>Records that <paramref name="rank"/> wrote its shard of <paramref name="step"/>; true when that completes the
    /// checkpoint for a world of <paramref name="worldSize"/> (the step's tally is then dropped).</summary>
    public static bool ShardWritten(RunGrainState state, int step, int rank, int worldSize)
    {
        if (!state.ShardsWritten.TryGetValue(step, out var ranks)) state.ShardsWritten[step] = ranks = [];
        ranks.Add(rank);
        if (ranks.Count < worldSize) return false;
        state.ShardsWritten.Remove(step);
        return true;
    }

    /// <summary>The run's checkpoints once <paramref name="committed"/> is in: those at or after its step go (a generation
    /// that resumed from earlier overwrote them), then the newest <see cref="CheckpointPolicy.Keep"/> and every pinned step stay.</summary>
    public static ImmutableArray<CheckpointRef> Commit(ImmutableArray<CheckpointRef> checkpoints, CheckpointRef committed, CheckpointPolicy policy)
    {
        var kept = checkpoints.RemoveAll(c => c.Step >= committed.Step).Add(committed);
        var pinned = policy.Pinned;
        var recent = kept.Where(c => !pinned.Contains(c.Step)).TakeLast(policy.Keep).ToHashSet();
        return [.. kept.Where(c => pinned.Contains(c.Step) || recent.Contains(c))];
    }

    /// <summary>Drops the token counts of checkpoints no longer kept.</summary>
    public static void ForgetPruned(RunGrainState state, ImmutableArray<CheckpointRef> kept)
    {
        foreach (var gone in state.CheckpointTokens.Keys.Where(k => !kept.Any(c => c.Step == k)).ToList()) state.CheckpointTokens.Remove(gone);
    }
}
