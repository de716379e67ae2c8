using Orchestrator.Contracts.Runs;
using Orchestrator.Sharding.Optim;

namespace Orchestrator.Worker.Training;

/// <summary>One training run's settings (nanoGPT's train.py globals). Defaults are nanoGPT's GPT-2 ones.</summary>
public sealed record TrainOptions
{
    public int Steps { get; init; } = 1000;                 // horizon: the LR schedule spans it
    public int BatchSize { get; init; } = 12;               // micro-batch in sequences (per rank)
    public int BlockSize { get; init; } = 1024;             // tokens per sequence
    public int GradAccum { get; init; } = 1;                // micro-steps per optimizer step
    public double LearningRate { get; init; } = 6e-4;       // peak LR
    public double? MinLearningRate { get; init; }           // floor; default LR/10 (cosine), 0 (wsd)
    public int? WarmupSteps { get; init; }                  // default: min(2000, Steps/10)
    public string Schedule { get; init; } = LrScheduleSpec.Cosine;               // cosine | wsd | constant (LrSchedule)
    public double CooldownFraction { get; init; } = LrScheduleSpec.DefaultCooldownFraction; // wsd: the last f of the horizon
    public string CooldownShape { get; init; } = LrScheduleSpec.OneMinusSqrt;    // wsd: linear | 1-sqrt | cosine
    public AdamWSettings Adam { get; init; } = new();
    public int Seed { get; init; } = 1337;
    public string Device { get; init; } = "cpu";            // cpu | cuda | cuda:N
    public string Dtype { get; init; } = "auto";            // auto (bf16 on CUDA, fp32 on CPU) | fp32 | bf16
    public int LogEvery { get; init; } = 10;                // host sync (loss.item()) only at these steps
    public double LogSeconds { get; init; }                 // > 0: report about this often instead (a step cadence the ranks agree on at each report)
    public bool TensorBoard { get; init; }                  // also write TensorBoard scalars beside metrics.jsonl (rank 0, with OutDir)
    public int EvalEvery { get; init; }                     // 0: only at the end
    public int EvalBatches { get; init; } = 20;
    public int CheckpointEvery { get; init; }               // 0: only at the end
    public double CheckpointMinutes { get; init; }          // also checkpoint when this much training time passed since the last (0: off)
    public int KeepCheckpoints { get; init; } = 3;
    public IReadOnlyList<int> CheckpointAt { get; init; } = [];  // also checkpoint at these steps, and never prune them
    public string? InitFrom { get; init; }                  // start from this checkpoint (or run folder) instead of step 0
    public int? ForkStep { get; init; }                     // InitFrom's checkpoint must be of this step
    public int? StopAfter { get; init; }                    // end this invocation after N steps (with a checkpoint)
    public bool Resume { get; init; }
    public string? OutDir { get; init; }                    // checkpoints; null: none
    public string? DataDir { get; init; }
    public int Rank { get; init; }                          // this process' rank (orch train --nproc P sets it)
    public int WorldSize { get; init; } = 1;                // ranks sharing each step; the global batch is BatchSize x WorldSize x GradAccum
    public int Zero { get; init; }                          // ZeRO stage: 0 replicated (DDP), 1-3 sharded (see EngineOptions)
    public bool FusedAdamW { get; init; } = true;           // libtorch's fused AdamW kernel when it works here
    public string CudaGraphs { get; init; } = "auto";       // on | off | auto: capture the step in a CUDA graph (GraphedStep)
    public bool KeepGradAccum { get; init; }                // resume keeps this GradAccum (the world changed, the global batch did not), not the checkpoint's

    public double MinLr => MinLearningRate ?? (Schedule == LrScheduleSpec.Wsd ? 0 : LearningRate / 10);
    public int Warmup => WarmupSteps ?? Math.Min(2000, Steps / 10);
    public LrSchedule LrSchedule => new(LearningRate, MinLr, Warmup, Steps, Schedule, CooldownFraction, CooldownShape);

    /// <summary>Throws <see cref="ArgumentException"/> naming the flag when a value cannot work.</summary>
    public TrainOptions Validate()
    {
        if (Steps < 1) throw new ArgumentException($"--steps {Steps}: must be at least 1");
        if (BatchSize < 1) throw new ArgumentException($"--batch {BatchSize}: must be at least 1");
        if (BlockSize < 1) throw new ArgumentException($"--block-size {BlockSize}: must be at least 1");
        if (GradAccum < 1) throw new ArgumentException($"--grad-accum {GradAccum}: must be at least 1");
        if (LearningRate <= 0) throw new ArgumentException($"--lr {LearningRate}: must be positive");
        if (StopAfter is < 1) throw new ArgumentException($"--stop-after {StopAfter}: must be at least 1");
        if (!(CheckpointMinutes >= 0) || !double.IsFinite(CheckpointMinutes)) throw new ArgumentException($"--checkpoint-minutes {CheckpointMinutes}: must be 0 (off) or more");
        if (!double.IsFinite(LearningRate)) throw new ArgumentException($"--lr {LearningRate}: must be a finite number");
        if (MinLearningRate is double m && !(m >= 0 && double.IsFinite(m))) throw new ArgumentException($"--min-lr {m}: must be a finite number, 0 or more");
        if (!(Adam.WeightDecay >= 0) || !double.IsFinite(Adam.WeightDecay)) throw new ArgumentException($"--weight-decay {Adam.WeightDecay}: must be a finite number, 0 or more");
        if (!(Adam.GradClip >= 0) || !double.IsFinite(Adam.GradClip)) throw new ArgumentException($"--grad-clip {Adam.GradClip}: must be a finite number, 0 (off) or more");
        if (CheckpointEvery < 0) throw new ArgumentException($"--checkpoint-every {CheckpointEvery}: must be 0 or more");
        if (WorldSize < 1 || Rank < 0 || Rank >= WorldSize) throw new ArgumentException($"rank {Rank} is outside a world of {WorldSize}");
        if (Zero is < 0 or > 3) throw new ArgumentException($"--zero {Zero}: the ZeRO stage must be 0 (DDP), 1, 2 or 3");
        if (CudaGraphs is not ("on" or "off" or "auto")) throw new ArgumentException($"--cuda-graphs {CudaGraphs}: must be on, off or auto");
        if (LogEvery < 1) throw new ArgumentException($"--log-every {LogEvery}: must be at least 1");
        if (!(LogSeconds >= 0) || !double.IsFinite(LogSeconds)) throw new ArgumentException($"log seconds {LogSeconds}: must be 0 (off) or more");
        if (WarmupSteps is < 0) throw new ArgumentException($"--warmup-steps {WarmupSteps}: must not be negative");
        var schedule = LrScheduleSpec.Problems(Schedule, CooldownFraction, CooldownShape, MinLearningRate, LearningRate, Steps, Warmup,
            k => "--" + k.Replace('_', '-'));
        if (schedule.Count > 0) throw new ArgumentException(schedule[0]);
        if (CheckpointAt.FirstOrDefault(s => s < 1 || s > Steps) is int bad and not 0)
            throw new ArgumentException($"--checkpoint-at {bad}: must be a step in 1..{Steps}");
        if (ForkStep is not null && InitFrom is null) throw new ArgumentException("--fork-step needs --init-from (the run to fork from)");
        if (ForkStep is < 1 || ForkStep >= Steps) throw new ArgumentException($"--fork-step {ForkStep}: must be a step in 1..{Steps - 1}");
        return this;
    }
}
