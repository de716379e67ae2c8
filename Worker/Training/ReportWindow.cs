using Orchestrator.Sharding.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Training;

/// <summary>
/// A <see cref="Trainer"/>'s report window: the losses of the steps since the last report, summed on the device (read
/// once per report), and when the next report is due: every <c>LogEvery</c> steps, or with <c>LogSeconds</c> once that
/// much training time passed (one process: its host clock) or at a step the ranks agreed on at the previous report.
/// Invariant: ranks report at the same steps (the loss is all-reduced there), so a multi-rank cadence is only ever
/// changed to an all-reduced value, the same on every rank.
/// </summary>
sealed class ReportWindow(TrainOptions o, StepEngine engine, Device device) : IDisposable
{
    Tensor? _loss;
    long _nextLog;

    /// <summary>Steps summed since the last report.</summary>
    public int Steps { get; private set; }

    // A call starts a fresh window (a call that threw left its window half-summed). With LogSeconds the trainer's
    // first step reports (it holds the warm-up, so the cadence is measured on the steps after it); later calls keep
    // the cadence agreed at the last report.
    public void Start(long step)
    {
        _loss ??= zeros(Array.Empty<long>(), ScalarType.Float32, device).DetachFromDisposeScope();
        _loss.zero_();
        Steps = 0;
        if (_nextLog == 0) _nextLog = step + 1;
    }

    public bool Due(long step) => o.LogSeconds > 0 ? step >= _nextLog : step % o.LogEvery == 0;

    /// <summary>Adds a step's loss on the device: no sync.</summary>
    public void Add(Tensor lossSum)
    {
        _loss!.add_(lossSum);
        Steps++;
    }

    /// <summary>Collective: the window's mean loss over its steps and all ranks (every rank reports at the same steps).</summary>
    public Tensor Mean() => engine.MeanOverRanks(_loss! / Steps);

    // After a report at `step`: empties the window and, with LogSeconds, picks when the next report comes. One process
    // reports once LogSeconds of training passed (its host clock, checked after each step is queued: no sync). Ranks
    // must report at the same steps (the loss is all-reduced there), so they report `LogSeconds / secondsPerStep` steps
    // on, their mean proposal: an all-reduced value, the same on every rank.
    public void Next(long step, double secondsPerStep)
    {
        _loss!.zero_();
        Steps = 0;
        if (o.LogSeconds <= 0) return;
        if (o.WorldSize == 1)
        {
            _nextLog = long.MaxValue;
            return;
        }
        double proposal = Math.Clamp(Math.Floor(o.LogSeconds / Math.Max(secondsPerStep, 1e-9)), 1, Trainer.MaxReportSteps);
        using var scope = NewDisposeScope();
        proposal = engine.MeanOverRanks(tensor((float)proposal, device: device)).item<float>();
        _nextLog = step + (long)Math.Round(proposal);
    }

    public void Dispose() => _loss?.Dispose();
}
