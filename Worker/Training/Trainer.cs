using System.Diagnostics;
using Orchestrator.Contracts.Runs;
using Orchestrator.DataPipeline.Loading;
using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Engine;
using Orchestrator.Sharding.Interop;
using Orchestrator.Sharding.Ring;
using Orchestrator.Worker.Checkpoints;
using Orchestrator.Worker.Model;
using Orchestrator.Worker.Records;
using Orchestrator.Worker.Training.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Training;

/// <summary>
/// One rank's training loop (nanoGPT's train.py), the same for every mode: per step, the learning rate goes to the
/// engine, the micro-batches come onto the device, and <see cref="StepEngine.Step"/> runs forward, backward, clip and
/// update (the parallel mode is the engine's business: world 1, DDP or ZeRO-1/2/3). Host syncs only at log, eval and
/// checkpoint steps; periodic validation, exact resume at any world size. Checkpoints are per-rank shards written off
/// the training thread (<see cref="CheckpointWriter"/>): a step is blocked only for the device-to-host snapshot, a
/// background write's failure surfaces at the next step, and <see cref="Run"/> returns only once its checkpoints are
/// committed. Its pieces sit beside it: <see cref="StartingPoint"/> (resume or fork), <see cref="ReportWindow"/> (when
/// to report, the losses summed until then), <see cref="MetricsRecorder"/> (rank 0's records) and
/// <see cref="RunCheckpoints"/> (the store and the background writer).
/// </summary>
public sealed class Trainer : IDisposable
{
    readonly TrainOptions _o;
    readonly Func<LoaderOptions, IBatchSource> _open;
    readonly Action<string> _warn;
    readonly StepEngine _engine;
    readonly ICommunicator? _ownComm;
    readonly BatchFeeder _train;
    readonly RunCheckpoints _checkpoints;
    readonly LrSchedule _schedule;
    readonly ReportWindow _window;
    readonly MetricsRecorder _records;
    readonly long? _memoryBaseline;
    long? _modelStateBytes;
    GraphedStep? _graphed;
    bool _graphDecided;
    long _step;

    public Gpt Model { get; }
    public GptConfig Config { get; }
    public DeviceInfo Device { get; }
    public long StartStep { get; }
    public string? ResumedFrom { get; }

    /// <param name="config">Model shape (ignored when resuming: the checkpoint's shape wins).</param>
    /// <param name="open">Opens a split of the corpus (defaults elsewhere to <c>CorpusSources.Open</c>).</param>
    /// <param name="communicator">This rank's world (its rank and size must match the options'); null: world 1, made here.</param>
    /// <param name="checkResume">Called with the state of the checkpoint a resume continues, before anything is built (throws to refuse it).</param>
    public Trainer(GptConfig config, TrainOptions options, Func<LoaderOptions, IBatchSource> open, Action<string>? warn = null,
        ICommunicator? communicator = null, Action<TrainerState>? checkResume = null)
    {
        TorchRuntime.Initialize();
        _o = options.Validate();
        _open = open;
        _warn = warn ?? (_ => { });
        Device = DeviceInfo.Parse(options.Device, options.Dtype);
        if (Device.IsCuda && Environment.GetEnvironmentVariable("ORCH_MEMORY_PROBE") == "1") _memoryBaseline = CudaMemory.UsedBytes();
        var start = StartingPoint.Resolve(config, _o, _warn, checkResume); // a resume: the checkpoint's shape and settings
        _o = start.Options;
        Config = start.Config.Validate();
        if (_o.BlockSize > Config.BlockSize)
            throw new ArgumentException($"--block-size {_o.BlockSize} is larger than the model's block_size {Config.BlockSize}; use --block-size {Config.BlockSize} or less");
        manual_seed(_o.Seed);
        Model = new Gpt(Config, _o.Seed);
        Model.to(Device.Device);
        Model.train();
        if (communicator is null)
            communicator = _ownComm = RingCommunicator.Connect(new Rendezvous(Rendezvous.Ring, 0, 1, ["-"], null));
        if (communicator.WorldSize != _o.WorldSize || communicator.Rank != _o.Rank)
            throw new ArgumentException($"the communicator is rank {communicator.Rank} of {communicator.WorldSize}, the options say rank {_o.Rank} of {_o.WorldSize}");
        _engine = GptEngine.Create(Model, communicator, _o, Device, _warn);
        LoaderCursor? cursor = null;
        if (start.Checkpoint is { } ckpt)
        {
            CheckpointLoadMs = start.LoadMs + start.ApplyTo(_engine); // reshards to this world size and ZeRO stage
            cursor = ckpt.State.Cursor;
            StartStep = ckpt.State.Step;
            ResumedFrom = ckpt.Path;
        }
        _train = new BatchFeeder(open(new LoaderOptions(_o.DataDir ?? "", "train", _o.BatchSize, _o.BlockSize, Rank: _o.Rank, WorldSize: _o.WorldSize, Seed: _o.Seed, Resume: cursor)), Device);
        if (_train.Source.VocabSize > Config.VocabSize)
            throw new ArgumentException($"the corpus' vocabulary ({_train.Source.VocabSize}) is larger than the model's vocab_size {Config.VocabSize}");
        _schedule = _o.LrSchedule;
        _step = StartStep;
        _window = new ReportWindow(_o, _engine, Device.Device);
        _records = new MetricsRecorder(_o, StartStep, _warn);
        _checkpoints = new RunCheckpoints(start.Store, _engine);
    }

    public TrainOptions Options => _o;

    /// <summary>Wall time spent reading and applying the checkpoint this trainer started from (null: none).</summary>
    public double? CheckpointLoadMs { get; }

    public StepEngine Engine => _engine;

    /// <summary>Trains from <see cref="StartStep"/> to the horizon (or <c>StopAfter</c> steps), then evaluates and checkpoints.</summary>
    /// <param name="stopAt">Ends at this step instead (benchmarks: warm-up, then a timed stretch).</param>
    /// <param name="phases">Marks the end of each phase of every step (benchmarks: where the time goes).</param>
    /// <param name="stopRequested">Polled between steps (a signal): the run ends after the current step with a
    /// checkpoint (<see cref="TrainResult.Stopped"/>). Ranks agree on the step at a log step.</param>
    /// <param name="waitForCheckpoints">False: a call that ends before the horizon (and not on a stop) returns with its
    /// last checkpoint possibly still being written; <see cref="TakeCompletedCheckpoints"/> says when it is done.</param>
    /// <param name="returnAtReport">Returns right after the first report short of the end, without evaluating or
    /// checkpointing (<see cref="TrainResult.Paused"/>); the next call continues: a host that reports live.</param>
    public TrainResult Run(Action<StepReport>? report = null, CancellationToken ct = default, long? stopAt = null, PhaseProfiler? phases = null,
        Func<bool>? stopRequested = null, bool waitForCheckpoints = true, bool returnAtReport = false)
    {
        long end = stopAt ?? (_o.StopAfter is int n ? Math.Min(_o.Steps, StartStep + n) : _o.Steps);
        long tokensPerStep = (long)_o.BatchSize * _o.BlockSize * _o.GradAccum * _o.WorldSize; // all ranks
        double flopsPerToken = Config.FlopsPerToken(_o.BlockSize);
        var losses = new List<double>();
        double? lastLoss = null, lastVal = null, lastTps = null, lastMfu = null;
        string? checkpoint = null;
        // CUDA graphs (GraphedStep, decided once per trainer): this call on a pool stream of the calling thread, the
        // step captured after warm-up and replayed by every later call. A profiled call times its phases eagerly.
        if (!_graphDecided)
        {
            _graphDecided = true;
            _graphed = GraphedStep.TryCreate(_o.CudaGraphs, _engine, _o, Device, _warn, out var graphsOff);
            if (graphsOff is not null) _warn($"CUDA graphs off: {graphsOff}; training eagerly");
        }
        var graphed = phases is null ? _graphed : null;
        using var stream = graphed is not null ? CudaStreams.UseOwnStream() : null;
        var clock = Stopwatch.StartNew();
        var pause = new StepBoundary(_o.CheckpointMinutes, stopRequested, _o.WorldSize > 1 ? _engine.MeanOverRanks : null, _o.WorldSize, Device.Device);
        bool stopped = false, paused = false;
        _window.Start(_step);
        for (; _step < end; _step++)
        {
            ct.ThrowIfCancellationRequested();
            _checkpoints.ThrowIfFailed(); // a background checkpoint write that failed stops the run here, named
            double lr = _schedule.At(_step);
            bool everyCheckpoint = _checkpoints.Due(_o, _step);
            bool evaluate = _o.EvalEvery > 0 && (_step + 1) % _o.EvalEvery == 0 && _step + 1 != end;
            bool log = _window.Due(_step + 1) || _step + 1 == end || everyCheckpoint || evaluate || pause.WantsNow();
            using (var scope = NewDisposeScope())
            {
                phases?.BeginStep();
                var batch = new (Tensor X, Tensor Y)[_o.GradAccum];
                for (int micro = 0; micro < _o.GradAccum; micro++) batch[micro] = _train.Next();
                phases?.Mark("data");
                var (lossSum, norm) = graphed is not null ? graphed.Step(batch, lr) : EagerStep(batch, lr, phases, lastStep: _step + 1 == end);
                _window.Add(lossSum); // on the device: no sync
                log |= _o.LogSeconds > 0 && _o.WorldSize == 1 && clock.Elapsed.TotalSeconds >= _o.LogSeconds;
                if (log)
                {
                    int window = _window.Steps;
                    var mean = _window.Mean(); // collective: every rank reports at the same steps
                    double lossf = mean.item<float>();                 // sync point: the only one in a normal step
                    double normf = norm.item<float>();
                    // Checked where the loss is read (every report; a non-finite step makes its window's mean
                    // non-finite): a diverged state is never saved.
                    if (!double.IsFinite(lossf) || !double.IsFinite(normf))
                    {
                        _checkpoints.Drain(ct); // the last good checkpoint is committed before it is named
                        throw new TrainingDivergedException(_step + 1, lossf, normf, _checkpoints.Newest);
                    }
                    pause.Decide(_checkpoints.Enabled);
                    double secs = clock.Elapsed.TotalSeconds;
                    clock.Restart();
                    double tps = tokensPerStep * window / secs;
                    double? mfu = Device.PeakFlops is double peak ? flopsPerToken * tps / peak : null;
                    _window.Next(_step + 1, secs / window);
                    losses.Add(lossf);
                    lastLoss = lossf;
                    lastTps = tps;
                    lastMfu = mfu;
                    double? val = null;
                    if (evaluate)
                    {
                        using (Materialized()) val = lastVal = Evaluator.Loss(Model, OpenVal, Device, _o.EvalBatches);
                        clock.Restart(); // evaluation time is not training throughput
                    }
                    var r = new StepReport(_step + 1, end, lossf, normf, lr, 1000 * secs / window, tps, mfu, val, window, (_step + 1) * tokensPerStep);
                    _records.Record(new MetricsRecord(r.Step, r.Tokens, lossf, val, lr, tps, mfu, _o.WorldSize, DateTimeOffset.UtcNow));
                    report?.Invoke(r);
                }
            }
            if (_checkpoints.Enabled && (everyCheckpoint || pause.Checkpoint || pause.Stop) && _step + 1 != end)
            {
                checkpoint = SaveCheckpoint(_step + 1, lastLoss, lastVal);
                pause.Saved();
                clock.Restart();
            }
            if (pause.Stop && _step + 1 != end)
            {
                _step++;
                stopped = true;
                break;
            }
            if (log && returnAtReport && _step + 1 != end)
            {
                _step++;
                paused = true;
                break;
            }
        }
        if (paused)
        {
            // A checkpoint written on the way is reported as the caller asked: committed, or through TakeCompletedCheckpoints.
            if (checkpoint is not null && waitForCheckpoints) _checkpoints.Drain(ct);
            var written = _checkpoints.NewTimings();
            return new TrainResult(_step, lastLoss, lastVal, lastTps ?? 0, lastMfu, _o.WorldSize, checkpoint, losses, null,
                written.Sum(t => t.BlockedMs), written.Count) { Paused = true, Checkpoints = written, CheckpointWriteMs = written.Sum(t => t.WriteMs) };
        }
        if (!stopped)
        {
            if (_step > StartStep || lastVal is null) lastVal = TryEval();
            if (_checkpoints.Enabled) checkpoint = SaveCheckpoint(_step, lastLoss, lastVal);
        }
        // The end of the run (or a graceful stop) reports only committed checkpoints: wait for the write in flight.
        var draining = Stopwatch.StartNew();
        if (waitForCheckpoints || stopped || _step >= _o.Steps) _checkpoints.Drain(ct);
        double finalWaitMs = draining.Elapsed.TotalMilliseconds;
        var timings = _checkpoints.NewTimings();
        return new TrainResult(_step, lastLoss, lastVal, lastTps ?? 0, lastMfu, _o.WorldSize, checkpoint, losses, _modelStateBytes,
            timings.Sum(t => t.BlockedMs), timings.Count)
        {
            Stopped = stopped, Checkpoints = timings, CheckpointWriteMs = timings.Sum(t => t.WriteMs), CheckpointFinalWaitMs = finalWaitMs,
        };
    }

    /// <summary>Most steps between two reports of ranks with <see cref="TrainOptions.LogSeconds"/>.</summary>
    public const int MaxReportSteps = 10_000;

    /// <summary>
    /// Checkpoints whose background write finished since the last call, oldest first (rank 0: committed), with their
    /// folders; rethrows a failed write's error. For callers that report checkpoints as they complete.
    /// </summary>
    public IReadOnlyList<(long Step, string Path)> TakeCompletedCheckpoints() => _checkpoints.TakeCompleted();

    // The engine's step without a graph: the LR and AdamW's t into device tensors, then forward, backward and update.
    (Tensor Loss, Tensor Norm) EagerStep((Tensor X, Tensor Y)[] batch, double lr, PhaseProfiler? phases, bool lastStep)
    {
        _engine.BeginStep(lr);
        bool probe = _memoryBaseline is not null && lastStep;
        var (loss, norm) = _engine.Step(batch, phases is null && !probe ? null : phase =>
        {
            phases?.Mark(phase);
            if (probe && phase is "backward" or "forward+backward (staged)") _modelStateBytes = CudaMemory.UsedBytes() - _memoryBaseline!.Value;
        });
        return (loss, norm);
    }

    /// <summary>Whether this trainer's steps are replayed from a CUDA graph (after warm-up; see <see cref="GraphedStep"/>).</summary>
    public bool CudaGraphsUsed => _graphed?.Captured == true;

    IBatchSource OpenVal() => _open(new LoaderOptions(_o.DataDir ?? "", "val", _o.BatchSize, _o.BlockSize, Seed: _o.Seed));

    double? TryEval()
    {
        if (_o.EvalBatches <= 0) return null;
        using (Materialized()) return Evaluator.Loss(Model, OpenVal, Device, _o.EvalBatches);
    }

    // ZeRO-3 keeps parameters sharded between steps: evaluation needs them whole.
    IDisposable Materialized() => _engine.MaterializeAll();

    /// <summary>
    /// Collective, between steps: starts writing a checkpoint of the current state for <paramref name="step"/>
    /// completed steps (each rank its own shard, in the background) and returns its folder.
    /// </summary>
    public string SaveCheckpoint(long step, double? trainLoss, double? valLoss)
    {
        if (!_checkpoints.Enabled) throw new InvalidOperationException("no --out folder for checkpoints");
        using var rng = get_rng_state();
        var state = new TrainerState(step, _engine.Optimizer.StepCount, Config, RunSettingsOf(_o), _o.DataDir, _train.Source.Cursor,
            Convert.ToBase64String(rng.bytes), trainLoss, valLoss);
        return _checkpoints.Save(state);
    }

    public static RunSettings RunSettingsOf(TrainOptions o) => new(o.Steps, o.BatchSize, o.BlockSize, o.GradAccum, o.LearningRate,
        o.MinLr, o.Warmup, o.Adam.WeightDecay, o.Adam.Beta1, o.Adam.Beta2, o.Adam.GradClip, o.Seed,
        o.Schedule, o.CooldownFraction, o.CooldownShape);

    public void Dispose()
    {
        _records.Dispose();
        _window.Dispose();
        _checkpoints.Dispose(); // waits for a write in flight (it reads the engine's snapshot buffers, not the engine)
        _graphed?.Dispose();
        _train.Dispose();
        _engine.Dispose();
        _ownComm?.Dispose();
        Model.Dispose();
    }
}
