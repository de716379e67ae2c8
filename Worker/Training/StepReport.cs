namespace Orchestrator.Worker.Training;

/// <summary>What the trainer reports at a log step (after a host sync).</summary>
/// <param name="Step">Optimizer steps completed.</param>
/// <param name="Steps">The invocation's last step (for progress and ETA).</param>
/// <param name="Loss">Mean training loss of the window's steps (each the mean of its micro-batches and ranks).</param>
/// <param name="GradNorm">Pre-clip global gradient norm.</param>
/// <param name="LearningRate">LR used at this step.</param>
/// <param name="MsPerStep">Average wall time per step since the previous report.</param>
/// <param name="TokensPerSecond">Tokens trained per second over the same interval.</param>
/// <param name="Mfu">Model FLOPs utilisation (0..1) against the device's peak; null on CPU.</param>
/// <param name="ValLoss">Validation loss when it was measured at this step.</param>
/// <param name="WindowSteps">Steps since the previous report (the window the loss, time and rate are over).</param>
/// <param name="Tokens">Tokens trained so far: steps x the global batch.</param>
public sealed record StepReport(
    long Step, long Steps, double Loss, double GradNorm, double LearningRate, double MsPerStep, double TokensPerSecond,
    double? Mfu, double? ValLoss, int WindowSteps = 1, long Tokens = 0);

/// <summary>The end of a <see cref="Trainer.Run"/>.</summary>
/// <param name="ModelStateBytes">With ORCH_MEMORY_PROBE=1 on CUDA: device memory in use after the last step's
/// backward (before the update) minus what was in use before the model existed: parameters, gradients and
/// optimizer state (activations are freed by then). Exact only with PYTORCH_NO_CUDA_MEMORY_CACHING=1.</param>
/// <param name="CheckpointBlockedMs">Wall time the training loop spent blocked by checkpoints in this call: each one's
/// wait for the previous write and its device-to-host snapshot (the writes themselves run in the background).</param>
/// <param name="CheckpointWrites">Checkpoints written (or found already written) in this call.</param>
public sealed record TrainResult(
    long Steps, double? FinalTrainLoss, double? FinalValLoss, double TokensPerSecond, double? Mfu, int WorldSize,
    string? Checkpoint, IReadOnlyList<double> Losses, long? ModelStateBytes = null, double CheckpointBlockedMs = 0, int CheckpointWrites = 0)
{
    /// <summary>Ended early on a stop request (a signal), after the checkpoint in <see cref="Checkpoint"/>.</summary>
    public bool Stopped { get; init; }

    /// <summary>Returned at a report short of the end (Run's returnAtReport): nothing evaluated, <see cref="Checkpoint"/>
    /// only if one was written (and committed) on the way.</summary>
    public bool Paused { get; init; }

    /// <summary>Each checkpoint of this call: blocked and background write time, shard bytes.</summary>
    public IReadOnlyList<Checkpoints.CheckpointTiming> Checkpoints { get; init; } = [];

    /// <summary>Background write time of this call's checkpoints, summed (shard, checksum, commit).</summary>
    public double CheckpointWriteMs { get; init; }

    /// <summary>How long the end of the call waited for the last checkpoint's write to commit.</summary>
    public double CheckpointFinalWaitMs { get; init; }
}

