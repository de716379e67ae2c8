using System.Net.Sockets;
using Orchestrator.Contracts.Runs;
using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Interop;
using Orchestrator.Sharding.Optim;
using Orchestrator.Sharding.Ring;
using Orchestrator.DataPipeline.Loading;
using Orchestrator.Worker.Model;
using Orchestrator.Worker.Training;
using Orchestrator.Worker.Training.Distributed;

namespace Orchestrator.Worker.Hosting;

/// <summary>
/// One rank of a GPT run behind the worker seam: the real <see cref="Trainer"/> with the ring or NCCL
/// communicator and DDP/ZeRO optimizer. Checkpoints go to CHECKPOINT_PATH/RUN_ID, each rank writing its
/// own shard, so a new generation of any world size resumes from the newest valid one (the store's own rule).
/// One <see cref="Step"/> trains up to the next report (about every <see cref="ReportSeconds"/>, a step cadence the
/// ranks agree on) or checkpoint boundary, whichever comes first, so metrics flow live whatever the checkpoint
/// interval; a boundary's checkpoint is written in the background while the next stretches train, and reported with
/// the first outcome after it is on disk. <see cref="Abort"/> cancels the loop at its next step and aborts the
/// communicator, so a collective stuck on a dead peer fails at once.
/// </summary>
public sealed class GptTrainingJob(RunAssignment a, WorkerIdentity worker) : ITrainingJob
{
    readonly CancellationTokenSource abort = new();
    volatile bool pausing;
    Socket? listener;
    ICommunicator? comm;
    Trainer? trainer;
    long step;
    double? finalValLoss;
    // Checkpoints written in the background and not yet reported, oldest first: one goes out with each outcome, so
    // the coordinator hears of a checkpoint only once this rank's part of it is on disk (rank 0's: committed).
    readonly Queue<CheckpointRef> completed = new();

    string OutDir => Path.Combine(a.Spec.Checkpoint.Path, a.RunId);
    string Backend => a.Spec.Backend == "nccl" ? Rendezvous.Nccl : Rendezvous.Ring;

    public int NextStep => (int)step + 1;

    /// <summary>How often a stretch returns with its report: a quarter of the worker's one-second report interval, so
    /// the loop's next report leaves at most about 1.25 s after the previous one, with fresh metrics.</summary>
    public const double ReportSeconds = 0.25;

    // Each checkpoint's write time as the trainer measured it, until the checkpoint is reported.
    readonly Dictionary<long, double> writeSeconds = [];

    public string PrepareBootstrap()
    {
        if (a.WorldSize == 1) return "-";
        if (Backend == Rendezvous.Ring)
        {
            (listener, var endpoint) = RingCommunicator.Listen(worker.AdvertiseHost);
            return endpoint;
        }
        return a.Rank == 0 ? Convert.ToBase64String(NcclCommunicator.MakeUniqueId()) : "";
    }

    public void Start(IReadOnlyList<string> bootstraps)
    {
        var s = a.Spec;
        // `orch local` runs several CPU workers on one machine and says how many threads each may use.
        if (int.TryParse(Environment.GetEnvironmentVariable("ORCH_TORCH_THREADS"), out var threads) && threads > 0)
            TorchSharp.torch.set_num_threads(threads);
        if (a.WorldSize > 1 || s.Zero > 0)
        {
            comm = a.WorldSize == 1
                ? RingCommunicator.Connect(new Rendezvous(Rendezvous.Ring, 0, 1, ["-"], null))
                : Backend == Rendezvous.Ring
                    ? RingCommunicator.Connect(new Rendezvous(Rendezvous.Ring, a.Rank, a.WorldSize, bootstraps, null), listener)
                    : NcclCommunicator.Create(new Rendezvous(Rendezvous.Nccl, a.Rank, a.WorldSize, [], Convert.FromBase64String(bootstraps[0])), CudaIndex());
        }
        // A damaged shard fails the run at once, naming the shard (as `orch train` refuses it), rather than training on
        // bad tokens or failing part-way; hashed once per worker process and corpus.
        CorpusSources.VerifyChecksums(s.Data);
        int vocab = CorpusSources.VocabSize(s.Data);
        var config = ((s.Model.Preset is { } preset ? GptPresets.Get(preset) with { VocabSize = vocab }
            : new GptConfig(s.Model.NLayer, s.Model.NHead, s.Model.NEmbd, s.Model.BlockSize, vocab, Dropout: s.Model.Dropout))
            with { Parametrization = s.Model.Parametrization, BaseWidth = s.Model.BaseWidth }).Validate();
        var options = new TrainOptions
        {
            Steps = a.TotalSteps, BatchSize = s.Batch, BlockSize = Math.Min(config.BlockSize, CorpusSources.BlockSize(s.Data) ?? config.BlockSize),
            GradAccum = WorldBatch.GradAccumAt(s, a.WorldSize)
                ?? throw new ArgumentException($"global_batch {s.GlobalBatch} cannot be kept at {a.WorldSize} workers of batch {s.Batch}"),
            KeepGradAccum = s.GlobalBatch is not null, LearningRate = s.Lr, WarmupSteps = s.WarmupSteps > 0 ? s.WarmupSteps : null, Seed = s.Seed,
            Device = worker.Device, LogSeconds = ReportSeconds, TensorBoard = s.Tensorboard, EvalEvery = s.EvalEvery, EvalBatches = 10,
            CheckpointEvery = s.Checkpoint.Every, KeepCheckpoints = s.Checkpoint.Keep, Resume = true, OutDir = OutDir, DataDir = s.Data,
            Rank = a.Rank, WorldSize = a.WorldSize, Zero = s.Zero, CudaGraphs = s.CudaGraphs,
            Schedule = s.Schedule, MinLearningRate = s.MinLr, CooldownFraction = s.CooldownFraction, CooldownShape = s.CooldownShape,
            CheckpointAt = s.Checkpoint.Pinned, InitFrom = s.InitFrom, ForkStep = s.ForkStep,
            // A sweep's search trial sets these two through the run's options.
            Adam = AdamFrom(s.Options),
        };
        trainer = new Trainer(config, options, CorpusSources.Open, _ => { }, comm);
        step = trainer.StartStep;
    }

    public StepOutcome Step()
    {
        var t = trainer ?? throw new InvalidOperationException("Start first");
        if (step >= a.TotalSteps && completed.Count > 0) return Report([], finished: true); // trained to the end: what is left to report
        int every = Math.Max(1, a.Spec.Checkpoint.Every);
        long stopAt = Math.Min(a.TotalSteps, (step / every + 1) * every);
        foreach (int pinned in a.Spec.Checkpoint.Pinned) // a fork point is a boundary too: its checkpoint is reported and committed
            if (pinned > step && pinned < stopAt) stopAt = pinned;
        var metrics = new List<MetricPoint>();
        TrainResult result;
        try
        {
            result = t.Run(r => metrics.Add(new MetricPoint((int)r.Step, r.Loss, r.TokensPerSecond, r.Mfu, DateTimeOffset.UtcNow, r.ValLoss,
                    r.MsPerStep / 1000, r.LearningRate, WindowSteps: r.WindowSteps)),
                abort.Token, stopAt, stopRequested: () => pausing, waitForCheckpoints: false, returnAtReport: true);
            foreach (var timing in result.Checkpoints) writeSeconds[timing.Step] = (timing.BlockedMs + timing.WriteMs) / 1000;
            foreach (var (s, path) in t.TakeCompletedCheckpoints())
                completed.Enqueue(new CheckpointRef((int)s, path, a.Generation, a.WorldSize, DateTimeOffset.UtcNow,
                    writeSeconds.Remove(s, out double seconds) ? seconds : null));
        }
        catch (CommunicatorException e)
        {
            throw new TransientJobException($"communication failed: {e.Message}", e);
        }
        step = result.Steps;
        // Paused (the coordinator is gone): the stop's checkpoint, written and drained, is the one to name; older
        // unreported ones matter to no one now (the next generation resumes from the newest valid checkpoint on disk).
        if (result.Stopped) while (completed.Count > 1) completed.TryDequeue(out _);
        bool finished = step >= a.TotalSteps; // the trainer waited for the final checkpoint: every one is in the queue
        if (finished) finalValLoss = result.FinalValLoss;
        return Report(metrics, finished);
    }

    // The oldest unreported checkpoint goes with these metrics; the run is finished once none is left.
    StepOutcome Report(IReadOnlyList<MetricPoint> metrics, bool finished)
    {
        completed.TryDequeue(out var ck);
        bool done = finished && completed.Count == 0;
        return new StepOutcome(metrics, ck, done, done ? finalValLoss : null);
    }

    int CudaIndex() => worker.Device.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(worker.Device[5..], out var n) ? n : 0;

    public void Pause() => pausing = true;

    public void Abort()
    {
        abort.Cancel();
        comm?.Abort("the run moved to a new membership generation");
    }

    public void Dispose()
    {
        trainer?.Dispose();
        comm?.Dispose();
        listener?.Dispose();
        abort.Dispose();
    }

    /// <summary>AdamW's defaults, with weight_decay and beta2 from the run's options where given.</summary>
    static AdamWSettings AdamFrom(IReadOnlyDictionary<string, string> options)
    {
        var adam = new AdamWSettings();
        return adam with { WeightDecay = Read("weight_decay", adam.WeightDecay, v => v >= 0), Beta2 = Read("beta2", adam.Beta2, v => v is > 0 and < 1) };

        double Read(string key, double fallback, Func<double, bool> valid) =>
            !options.TryGetValue(key, out var text) ? fallback
            : double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v) && valid(v) ? v
            : throw new InvalidDataException($"option {key} '{text}' is not a valid value");
    }
}
