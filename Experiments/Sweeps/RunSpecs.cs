using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Experiments.Sweeps;

/// <summary>The RunSpec a planned run is submitted as: the sweep's fixed settings plus the run's shape, steps, lr and seed.</summary>
public static class RunSpecs
{
    public static RunSpec For(SweepSpec sweep, string sweepId, string folder, PlannedRun run, int attempt) => new()
    {
        // Run ids are name + suffix; the name says which sweep, run and attempt it is.
        Name = $"{sweepId}.{run.Key}.a{attempt}",
        Data = sweep.Data,
        Model = run.Model,
        Batch = sweep.Batch,
        Steps = run.Steps,
        Lr = run.Lr,
        Seed = run.Seed,
        Workers = new WorkerRange { Min = sweep.WorkersPerRun, Max = sweep.WorkersPerRun },
        Device = sweep.Device,
        Backend = sweep.Backend,
        Checkpoint = new CheckpointPolicy { Every = sweep.CheckpointEvery, Keep = 2, Path = SweepFolder.RunsDir(folder) },
        WarmupSteps = sweep.WarmupSteps,
        EvalEvery = sweep.EvalEvery,
        Trainer = sweep.Trainer,
        Options = sweep.Options,
        DeviceShare = sweep.DeviceShare,
        CudaGraphs = sweep.CudaGraphs,
    };

    /// <summary>Tokens a completed run trained on (the fit's D): steps × batch × block × ranks.</summary>
    public static long TrainedTokens(SweepSpec sweep, PlannedRun run, int steps) =>
        (long)steps * sweep.Batch * run.Model.BlockSize * sweep.WorkersPerRun;
}
