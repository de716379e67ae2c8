using System.Diagnostics;
using Orchestrator.Contracts.Runs;
using Orchestrator.Sharding.Checkpointing;
using Orchestrator.Sharding.Engine;
using Orchestrator.Sharding.Optim;
using Orchestrator.Worker.Checkpoints;
using Orchestrator.Worker.Model;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Training;

/// <summary>
/// Where a <see cref="Trainer"/> starts: the run folder's newest valid checkpoint (resume), another run's checkpoint
/// (a fork: <c>InitFrom</c>, when the run has none of its own), or step 0. A resume takes the checkpoint's model shape
/// and run settings over the options' (the caller's <c>checkResume</c> may refuse it first); a fork keeps the options
/// and must match the model's shape. Invariants: it is read before anything is built, and a run folder that already
/// holds checkpoints is never started over without <c>Resume</c>.
/// </summary>
/// <param name="Store">The run folder's checkpoints (null: no <c>OutDir</c>).</param>
/// <param name="Checkpoint">The checkpoint to continue from (null: step 0).</param>
/// <param name="LoadMs">Wall time spent reading <paramref name="Checkpoint"/> (null: none).</param>
sealed record StartingPoint(CheckpointStore? Store, LoadedCheckpoint? Checkpoint, GptConfig Config, TrainOptions Options, double? LoadMs)
{
    public static StartingPoint Resolve(GptConfig config, TrainOptions o, Action<string> warn, Action<TrainerState>? checkResume)
    {
        CheckpointStore? store = null;
        LoadedCheckpoint? ckpt = null;
        double? loadMs = null;
        if (o.OutDir is not null)
        {
            store = new CheckpointStore(o.OutDir, o.KeepCheckpoints, o.CheckpointAt);
            if (o.Resume)
            {
                var reading = Stopwatch.StartNew();
                ckpt = store.LoadNewestValid(warn);
                if (ckpt is not null) loadMs = reading.Elapsed.TotalMilliseconds;
                else if (o.InitFrom is null) warn($"--resume: no valid checkpoint in {o.OutDir}; starting from step 0");
            }
            else if (store.List().Count > 0)
                throw new ArgumentException($"--out {o.OutDir} already holds checkpoints; pass --resume to continue that run, or choose another --out");
        }
        // A fork (a WSD branch, a retried run) starts from another run's state, then follows its own schedule.
        if (ckpt is null && o.InitFrom is not null)
        {
            var dir = ForkSource.Resolve(o.InitFrom, o.ForkStep, warn);
            var reading = Stopwatch.StartNew();
            ckpt = CheckpointStore.Load(dir);
            loadMs = reading.Elapsed.TotalMilliseconds;
            ForkSource.CheckCompatible(ckpt, config, o.InitFrom);
        }
        else if (ckpt is not null)
        {
            checkResume?.Invoke(ckpt.State);
            var r = ckpt.State.Run;
            config = ckpt.State.Model;
            o = o with
            {
                BatchSize = r.BatchSize, BlockSize = r.BlockSize, GradAccum = o.KeepGradAccum ? o.GradAccum : r.GradAccum, LearningRate = r.LearningRate,
                MinLearningRate = r.MinLearningRate, WarmupSteps = r.WarmupSteps, Seed = r.Seed,
                Adam = new AdamWSettings(r.Beta1, r.Beta2, o.Adam.Eps, r.WeightDecay, r.GradClip),
                Schedule = r.Schedule ?? LrScheduleSpec.Cosine, CooldownFraction = r.CooldownFraction ?? o.CooldownFraction,
                CooldownShape = r.CooldownShape ?? o.CooldownShape,
            };
        }
        return new StartingPoint(store, ckpt, config, o, loadMs);
    }

    /// <summary>
    /// Loads <see cref="Checkpoint"/> into <paramref name="engine"/> (resharded to its world size and ZeRO stage) and
    /// restores the CPU RNG; returns the wall time of the load.
    /// </summary>
    public double ApplyTo(StepEngine engine)
    {
        var ckpt = Checkpoint ?? throw new InvalidOperationException("no checkpoint to apply");
        var applying = Stopwatch.StartNew();
        ShardedCheckpoint.Load(ckpt.Path, engine, ckpt.Manifest);
        double ms = applying.Elapsed.TotalMilliseconds;
        using (var rng = tensor(Convert.FromBase64String(ckpt.State.RngCpu), ScalarType.Byte)) set_rng_state(rng);
        return ms;
    }
}
