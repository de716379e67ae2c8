using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Experiments.Sweeps;

/// <summary>
/// The RunSpec a planned run is submitted as: the sweep's fixed settings plus the run's shape, steps, lr and seed. A
/// trunk trains at the constant stable LR and pins its fork steps; a branch (or a retried trunk) starts from
/// <paramref name="initFrom"/>, a checkpoint folder.
/// </summary>
public static class RunSpecs
{
    public static RunSpec For(SweepSpec sweep, string sweepId, string folder, PlannedRun run, int attempt,
        string? initFrom = null, string? parentRunId = null) => new()
    {
        // Run ids are name + suffix; the name says which sweep, run and attempt it is.
        Name = $"{sweepId}.{run.Key}.a{attempt}",
        Data = sweep.Data,
        Model = run.Model,
        Batch = BatchOf(sweep, run),
        Steps = run.Steps,
        Lr = run.Lr,
        Seed = run.Seed,
        Workers = new WorkerRange { Min = sweep.WorkersPerRun, Max = sweep.WorkersPerRun },
        Device = sweep.Device,
        Backend = sweep.Backend,
        Checkpoint = new CheckpointPolicy { Every = sweep.CheckpointEvery, Keep = 2, Path = SweepFolder.RunsDir(folder), At = run.ForkSteps ?? [] },
        WarmupSteps = run.Trial?.WarmupSteps ?? (run.WarmupSteps > 0 ? run.WarmupSteps : sweep.WarmupSteps),
        Schedule = run.Role == RunRole.Trunk ? LrScheduleSpec.Constant : sweep.Schedule,
        MinLr = sweep.MinLr,
        CooldownFraction = sweep.CooldownFraction,
        CooldownShape = sweep.CooldownShape,
        InitFrom = initFrom,
        ForkStep = run.Role == RunRole.Branch ? run.ForkStep : null,
        Parent = parentRunId,
        EvalEvery = sweep.EvalEvery,
        Trainer = sweep.Trainer,
        Options = run.Trial is { } t ? TrialOptions(sweep.Options, t) : sweep.Options,
        DeviceShare = sweep.DeviceShare,
        CudaGraphs = sweep.CudaGraphs,
    };

    /// <summary>Tokens a completed run trained on (the fit's D): steps × batch × block × ranks.</summary>
    public static long TrainedTokens(SweepSpec sweep, PlannedRun run, int steps) =>
        (long)steps * BatchOf(sweep, run) * run.Model.BlockSize * sweep.WorkersPerRun;

    /// <summary>A run's batch: its trial's, the fitted batch rule's (lr: auto with a searched batch), else the sweep's.</summary>
    public static int BatchOf(SweepSpec sweep, PlannedRun run) => run.Trial?.Batch ?? run.Batch ?? sweep.Batch;

    /// <summary>A trial's AdamW settings travel as the trainer's options weight_decay and beta2 (read by GptTrainingJob).</summary>
    static System.Collections.Immutable.ImmutableDictionary<string, string> TrialOptions(
        System.Collections.Immutable.ImmutableDictionary<string, string> options, TrialConfig t)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (t.WeightDecay is { } wd) options = options.SetItem("weight_decay", wd.ToString("R", inv));
        if (t.Beta2 is { } b2) options = options.SetItem("beta2", b2.ToString("R", inv));
        return options;
    }
}
