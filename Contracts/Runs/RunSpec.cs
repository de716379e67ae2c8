using System.Collections.Immutable;

namespace Orchestrator.Contracts.Runs;

/// <summary>
/// One training run as submitted (docs/CLI.md "RunSpec YAML"; YAML keys are the snake_case of these names).
/// Ids are never renumbered: add new fields with the next free id.
/// </summary>
[GenerateSerializer, Immutable, Alias("orch.RunSpec")]
public sealed record RunSpec
{
    /// <summary>Human name; the run id is derived from it (name + short suffix).</summary>
    [Id(0)] public string Name { get; init; } = "";
    /// <summary>Directory written by `orch data prepare` (its manifest.json is read by the trainer).</summary>
    [Id(1)] public string Data { get; init; } = "";
    [Id(2)] public ModelShape Model { get; init; } = new();
    /// <summary>Per-rank micro-batch in sequences (nanoGPT's batch_size).</summary>
    [Id(3)] public int Batch { get; init; } = 16;
    /// <summary>The run's horizon in optimizer steps (the LR schedule spans it). Either this or <see cref="Tokens"/>.</summary>
    [Id(4)] public int Steps { get; init; }
    [Id(5)] public double Lr { get; init; } = 1e-3;
    [Id(6)] public int Seed { get; init; } = 1337;
    [Id(7)] public WorkerRange Workers { get; init; } = new();
    /// <summary>cpu or cuda.</summary>
    [Id(8)] public string Device { get; init; } = "cpu";
    /// <summary>ring (TCP, CPU) or nccl.</summary>
    [Id(9)] public string Backend { get; init; } = "ring";
    /// <summary>ZeRO stage 0..3.</summary>
    [Id(10)] public int Zero { get; init; }
    [Id(11)] public CheckpointPolicy Checkpoint { get; init; } = new();
    /// <summary>Token budget instead of steps: steps = ceil(tokens / (global_batch x block_size)), global_batch defaulting to batch x grad_accum x workers.max.</summary>
    [Id(12)] public long? Tokens { get; init; }
    [Id(13)] public int GradAccum { get; init; } = 1;
    [Id(14)] public int WarmupSteps { get; init; }
    /// <summary>Evaluate validation loss every N steps (0: only at the end).</summary>
    [Id(15)] public int EvalEvery { get; init; }
    /// <summary>gpt (the real trainer) or light (a CPU job without TorchSharp that exercises the control plane).</summary>
    [Id(16)] public string Trainer { get; init; } = "gpt";
    /// <summary>Light trainer only: milliseconds of work per step.</summary>
    [Id(17)] public int StepMs { get; init; } = 50;
    /// <summary>Free-form extra settings passed through to the trainer.</summary>
    [Id(18)] public ImmutableDictionary<string, string> Options { get; init; } = ImmutableDictionary<string, string>.Empty;
    /// <summary>
    /// The fraction of one device each rank claims, in (0, 1] (Ray's num_gpus: 0.25 packs four ranks on a device);
    /// null claims no share: only memory and the worker's slots limit how many runs share a device.
    /// </summary>
    [Id(19)] public double? DeviceShare { get; init; }
    /// <summary>The LR schedule: cosine, wsd (warmup-stable-decay) or constant (<see cref="LrScheduleSpec"/>).</summary>
    [Id(20)] public string Schedule { get; init; } = LrScheduleSpec.Cosine;
    /// <summary>The LR floor; null: lr/10 for cosine, 0 for wsd.</summary>
    [Id(21)] public double? MinLr { get; init; }
    /// <summary>wsd: the share of the horizon spent in the cooldown, in (0, 1).</summary>
    [Id(22)] public double CooldownFraction { get; init; } = LrScheduleSpec.DefaultCooldownFraction;
    /// <summary>wsd: linear, 1-sqrt or cosine.</summary>
    [Id(23)] public string CooldownShape { get; init; } = LrScheduleSpec.OneMinusSqrt;
    /// <summary>Start from this checkpoint folder (or run folder) instead of step 0: weights, optimizer, RNG and data position.</summary>
    [Id(24)] public string? InitFrom { get; init; }
    /// <summary>The step of <see cref="InitFrom"/>'s checkpoint this run forks at (checked against the checkpoint).</summary>
    [Id(25)] public int? ForkStep { get; init; }
    /// <summary>The run id this run was forked from (a WSD branch's trunk), for status and reports.</summary>
    [Id(26)] public string? Parent { get; init; }
    /// <summary>on, off or auto: capture the single-process CUDA training step in a CUDA graph (auto: where it applies).</summary>
    [Id(27)] public string CudaGraphs { get; init; } = "auto";
    /// <summary>
    /// Sequences per optimizer step over all ranks and micro-steps, kept at every world size by gradient accumulation
    /// (grad_accum = global_batch / (batch x workers); <see cref="WorldBatch"/>). Null: batch x grad_accum x workers.
    /// </summary>
    [Id(28)] public int? GlobalBatch { get; init; }
    /// <summary>Also write TensorBoard scalar event files (the run folder's `tensorboard/`) beside metrics.jsonl.</summary>
    [Id(29)] public bool Tensorboard { get; init; }

    /// <summary>Steps this spec asks for, resolving a token budget (at workers.max ranks without a global batch).</summary>
    public int ResolvedSteps => Steps > 0 || Tokens is null
        ? Steps
        : (int)Math.Ceiling(Tokens.Value / (double)((GlobalBatch ?? (long)Batch * GradAccum * Workers.Max) * Model.BlockSize));
}

/// <summary>GPT shape: explicit sizes, or a preset name (gpt2, gpt2-medium, ...; sizes then come from the preset).</summary>
[GenerateSerializer, Immutable, Alias("orch.ModelShape")]
public sealed record ModelShape
{
    [Id(0)] public string? Preset { get; init; }
    [Id(1)] public int NLayer { get; init; } = 2;
    [Id(2)] public int NHead { get; init; } = 4;
    [Id(3)] public int NEmbd { get; init; } = 128;
    [Id(4)] public int BlockSize { get; init; } = 128;
    [Id(5)] public double Dropout { get; init; }
    /// <summary>sp (GPT-2's standard parametrization) or mup (μP: <see cref="Parametrizations"/>).</summary>
    [Id(6)] public string Parametrization { get; init; } = Parametrizations.Standard;
    /// <summary>μP's base width: the width whose learning rate transfers (0 under sp).</summary>
    [Id(7)] public int BaseWidth { get; init; }
}

/// <summary>Elastic world size: the run starts with at least Min workers and grows to Max.</summary>
[GenerateSerializer, Immutable, Alias("orch.WorkerRange")]
public sealed record WorkerRange
{
    [Id(0)] public int Min { get; init; } = 1;
    [Id(1)] public int Max { get; init; } = 1;
}

/// <summary>
/// Checkpoint every N steps into Path/&lt;run id&gt;/, keeping the newest Keep; also at every step of At (a trunk's
/// fork points), which are never pruned.
/// </summary>
[GenerateSerializer, Immutable, Alias("orch.CheckpointPolicy")]
public sealed record CheckpointPolicy
{
    [Id(0)] public int Every { get; init; } = 100;
    [Id(1)] public int Keep { get; init; } = 3;
    [Id(2)] public string Path { get; init; } = "";
    [Id(3)] public ImmutableArray<int> At { get; init; } = [];

    /// <summary><see cref="At"/>, empty for state stored before it existed.</summary>
    [System.Text.Json.Serialization.JsonIgnore] public ImmutableArray<int> Pinned => At.IsDefault ? [] : At;
}
