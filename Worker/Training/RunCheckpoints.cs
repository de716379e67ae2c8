using Orchestrator.Sharding.Engine;
using Orchestrator.Worker.Checkpoints;

namespace Orchestrator.Worker.Training;

/// <summary>
/// A <see cref="Trainer"/>'s checkpoint plumbing: the run folder's store, the background <see cref="CheckpointWriter"/>
/// and which of its timings were already handed out. No store (no <c>OutDir</c>): nothing is written and every call is
/// a no-op. Invariant: <see cref="Due"/> is a pure function of the step and the options, so every rank checkpoints at
/// the same steps; a background write's failure surfaces through <see cref="ThrowIfFailed"/> and <see cref="Drain"/>.
/// </summary>
sealed class RunCheckpoints(CheckpointStore? store, StepEngine engine) : IDisposable
{
    readonly CheckpointWriter? _writer = store is null ? null : new CheckpointWriter(store, engine);
    int _timingsReported;

    /// <summary>Whether this run writes checkpoints at all.</summary>
    public bool Enabled => store is not null;

    /// <summary>Whether the step after <paramref name="step"/> completes is a checkpoint step (every N, or a pinned one).</summary>
    public bool Due(TrainOptions o, long step) => store is not null
        && ((o.CheckpointEvery > 0 && (step + 1) % o.CheckpointEvery == 0) || o.CheckpointAt.Contains((int)step + 1));

    /// <summary>The newest committed checkpoint's folder (null: none).</summary>
    public string? Newest => store?.List().LastOrDefault().Path;

    /// <summary>Starts writing <paramref name="state"/>'s checkpoint (collective, between steps); returns its folder.</summary>
    public string Save(TrainerState state) => (_writer ?? throw new InvalidOperationException("no --out folder for checkpoints")).Save(state);

    public void ThrowIfFailed() => _writer?.ThrowIfFailed();

    public void Drain(CancellationToken ct) => _writer?.Drain(ct);

    /// <summary>Checkpoints whose write finished since the last call, oldest first; rethrows a failed write's error.</summary>
    public IReadOnlyList<(long Step, string Path)> TakeCompleted() => _writer?.TakeCompleted() ?? [];

    /// <summary>The timings of checkpoints written since the last call.</summary>
    public List<CheckpointTiming> NewTimings()
    {
        var timings = _writer?.Timings.Skip(_timingsReported).ToList() ?? [];
        _timingsReported += timings.Count;
        return timings;
    }

    /// <summary>Waits for a write in flight (it reads the engine's snapshot buffers, not the engine).</summary>
    public void Dispose() => _writer?.Dispose();
}
