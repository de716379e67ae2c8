using Orchestrator.Contracts.Runs;

namespace Orchestrator.Worker.Hosting;

/// <summary>
/// The seam between the control plane and a trainer: one rank of one run for one membership generation. The worker's
/// training thread drives it (bootstrap, start, steps); only <see cref="Abort"/> may be called from another thread.
/// </summary>
public interface ITrainingJob : IDisposable
{
    /// <summary>This rank's part of the communicator bootstrap (ring: its listening host:port; NCCL rank 0: the unique id).</summary>
    string PrepareBootstrap();

    /// <summary>Builds the communicator from every rank's bootstrap and loads the assignment's checkpoint, resharded to this world size.</summary>
    void Start(IReadOnlyList<string> bootstraps);

    /// <summary>The step <see cref="Step"/> will run next (1-based; after a resume, checkpoint step + 1).</summary>
    int NextStep { get; }

    /// <summary>
    /// Runs the next stretch of training: one optimizer step (light job), or up to the next report (about a quarter
    /// of a second) or checkpoint boundary (the GPT trainer, whose loop checks <see cref="Abort"/> every step), with the
    /// checkpoint or final evaluation when the stretch ends on one.
    /// </summary>
    StepOutcome Step();

    /// <summary>Unblocks a step stuck in communication with a lost peer (it then throws). Any thread.</summary>
    void Abort();

    /// <summary>
    /// Asks the current stretch to end after its current step with a checkpoint (the coordinator is gone: keep the
    /// work, stop spending the device on an orphaned run). Any thread; a job that steps one at a time needs nothing.
    /// </summary>
    void Pause() { }
}

/// <summary>What a stretch of steps produced (its reports' metrics). Checkpoint: this rank's part was written durably.</summary>
public sealed record StepOutcome(IReadOnlyList<MetricPoint> Metrics, CheckpointRef? Checkpoint, bool Finished, double? FinalValLoss = null);

/// <summary>Thrown by jobs for failures that come from a peer (a lost connection): the run re-rendezvous instead of failing.</summary>
public sealed class TransientJobException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Makes the job for an assignment; the worker process registers one (light, or the real GPT trainer).</summary>
public interface ITrainingJobFactory
{
    ITrainingJob Create(RunAssignment assignment, WorkerIdentity worker);
}

/// <summary>Who this worker is: id (= silo name), device, and the address peers reach it at.</summary>
public sealed record WorkerIdentity(string Id, string Device, string AdvertiseHost);
