using System.Diagnostics;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Training;

/// <summary>
/// Decides, between steps, whether to write a checkpoint because training time passed (a crash then loses at most
/// <c>CheckpointMinutes</c> of training) and whether to stop because a signal asked. Risk: a checkpoint is
/// collective, so every rank must decide the same at the same step; one process decides at any step, ranks only
/// at log steps, where they all-reduce their wishes (one scalar, beside the loss they read there anyway), so no
/// step gains a host sync.
/// </summary>
sealed class StepBoundary(double checkpointMinutes, Func<bool>? stopRequested, Func<Tensor, Tensor>? meanOverRanks, int worldSize, Device device)
{
    readonly Stopwatch _sinceCheckpoint = Stopwatch.StartNew();
    readonly TimeSpan _interval = TimeSpan.FromMinutes(checkpointMinutes);

    /// <summary>Checkpoint after this step (time passed).</summary>
    public bool Checkpoint { get; private set; }
    /// <summary>Checkpoint and end after this step (a stop was asked).</summary>
    public bool Stop { get; private set; }

    bool LocalStop => stopRequested?.Invoke() == true;
    bool LocalDue => checkpointMinutes > 0 && _sinceCheckpoint.Elapsed >= _interval;

    /// <summary>One process: whether this step must be read (and decided) although it is not a log step.</summary>
    public bool WantsNow() => meanOverRanks is null && (LocalStop || LocalDue);

    /// <summary>At a step whose loss was read: decides for this step (collective when there are ranks).</summary>
    public void Decide(bool canCheckpoint)
    {
        bool stop = LocalStop, due = canCheckpoint && LocalDue;
        if (meanOverRanks is not null)
        {
            // One value per rank: stop + (world + 1) x due. Summed over the ranks, the stops (at most world) are the
            // remainder and the checkpoint wishes the quotient; either is positive when any rank asked.
            using var scope = NewDisposeScope();
            var wish = meanOverRanks(tensor(new float[] { (stop ? 1 : 0) + (due ? worldSize + 1 : 0) }, device: device).reshape(Array.Empty<long>()));
            long sum = (long)Math.Round(wish.item<float>() * worldSize);
            stop = sum % (worldSize + 1) > 0;
            due = sum / (worldSize + 1) > 0;
        }
        Stop = stop;
        Checkpoint = due;
    }

    public void Saved()
    {
        _sinceCheckpoint.Restart();
        Checkpoint = false;
    }
}
