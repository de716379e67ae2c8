using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Orchestrator.Sharding.Checkpointing;
using Orchestrator.Sharding.Engine;

namespace Orchestrator.Worker.Checkpoints;

/// <summary>One checkpoint's cost: how long the training thread was blocked (<paramref name="WaitMs"/> of it waiting for
/// the previous write, the rest the device-to-host snapshot), how long the background write took (shard, checksum,
/// and on rank 0 the commit), and the bytes of this rank's shard.</summary>
public sealed record CheckpointTiming(long Step, double BlockedMs, double WaitMs, double WriteMs, long Bytes);

/// <summary>
/// Writes a trainer's checkpoints off the training thread. <see cref="Save"/> (collective, between steps) waits for the
/// previous write, agrees a temp folder with the other ranks, snapshots this rank's shard into reused host buffers
/// and returns; a background thread writes the shard and, on rank 0, waits for every rank's shard, writes state.json
/// and the manifest, renames the folder into place and prunes. Invariants: at most one write in flight; a write's
/// failure is rethrown on the training thread (<see cref="ThrowIfFailed"/> each step, <see cref="Drain"/> at the
/// end); <see cref="Drain"/> returns only once every checkpoint this writer started is committed (rank 0) or its
/// shard written (other ranks).
/// </summary>
public sealed class CheckpointWriter(CheckpointStore store, StepEngine engine) : IDisposable
{
    readonly BackgroundWriter _writer = new();
    readonly List<CheckpointTiming> _timings = [];
    readonly ConcurrentQueue<(long Step, string Path)> _completed = new();
    ShardSnapshot? _snapshot;

    /// <summary>Every checkpoint this writer saved, oldest first (a write still running has WriteMs 0).</summary>
    public IReadOnlyList<CheckpointTiming> Timings { get { lock (_timings) return _timings.ToList(); } }

    /// <summary>Training thread, every rank at the same step: starts writing <paramref name="state"/>'s checkpoint; returns its final folder.</summary>
    public string Save(TrainerState state)
    {
        var blocked = Stopwatch.StartNew();
        _writer.Drain();
        double waitMs = blocked.Elapsed.TotalMilliseconds;
        var final = Path.Combine(store.Root, CheckpointStore.FolderName(state.Step));
        if (CheckpointFolders.IsValid(final)) // this step is already saved (a resume that had nothing left to do)
        {
            Record(new CheckpointTiming(state.Step, blocked.Elapsed.TotalMilliseconds, waitMs, 0, 0));
            _completed.Enqueue((state.Step, final));
            return final;
        }
        var temp = CheckpointFolders.Temp(store.Root, state.Step, ShardedCheckpoint.AgreeNonce(engine));
        var snapshot = _snapshot ??= new ShardSnapshot(engine);
        snapshot.Capture(state.Step);
        var stateJson = JsonSerializer.SerializeToUtf8Bytes(state, CheckpointStore.Json);
        int index = Record(new CheckpointTiming(state.Step, 0, waitMs, 0, snapshot.Bytes));
        var metadata = new Dictionary<string, string> { ["format"] = "orchestrator-checkpoint", ["step"] = state.Step.ToString(CultureInfo.InvariantCulture) };
        _writer.Start(final, ct =>
        {
            var writing = Stopwatch.StartNew();
            ShardedCheckpoint.WriteShard(temp, snapshot, () => CheckpointFailpoint.Reached(state.Step));
            if (engine.Rank == 0)
            {
                ShardedCheckpoint.Commit(temp, final, snapshot, [(CheckpointStore.StateFile, stateJson)], metadata, ct);
                store.Prune();
            }
            lock (_timings) _timings[index] = _timings[index] with { WriteMs = writing.Elapsed.TotalMilliseconds };
            _completed.Enqueue((state.Step, final));
        });
        lock (_timings) _timings[index] = _timings[index] with { BlockedMs = blocked.Elapsed.TotalMilliseconds };
        return final;
    }

    int Record(CheckpointTiming t)
    {
        lock (_timings)
        {
            _timings.Add(t);
            return _timings.Count - 1;
        }
    }

    /// <summary>
    /// Checkpoints whose write finished since the last call, oldest first (rank 0: committed; other ranks: their shard
    /// written, rank 0 commits once it has every shard). Rethrows a failed write's error; never waits.
    /// </summary>
    public IReadOnlyList<(long Step, string Path)> TakeCompleted()
    {
        _writer.ThrowIfFailed();
        var done = new List<(long, string)>();
        while (_completed.TryDequeue(out var c)) done.Add(c);
        return done;
    }

    /// <summary>Rethrows the failure of a finished background write (called every step); never waits.</summary>
    public void ThrowIfFailed() => _writer.ThrowIfFailed();

    /// <summary>Waits for the write in flight (the end of a run, a graceful stop) and rethrows its failure.</summary>
    public void Drain(CancellationToken ct = default) => _writer.Drain(ct);

    public void Dispose()
    {
        _writer.Dispose();
        _snapshot?.Dispose();
    }
}
