using Orchestrator.DataPipeline.Loading;
using Orchestrator.Worker.Model;

namespace Orchestrator.Worker.Checkpoints;

/// <summary>
/// What a checkpoint needs besides tensors to continue a run exactly (state.json): where the run stands, the RNG,
/// the loader cursor, and the model and run settings it was made with.
/// </summary>
/// <param name="Step">Optimizer steps completed; training resumes at this step index.</param>
/// <param name="OptimizerSteps">AdamW's step count t (bias correction).</param>
/// <param name="Model">The model's shape.</param>
/// <param name="Run">Hyperparameters of the run (horizon, batch, schedule), so a resume uses the same ones.</param>
/// <param name="DataDir">The corpus the run trains on.</param>
/// <param name="Cursor">Train loader position after the last batch of step <see cref="Step"/>-1.</param>
/// <param name="RngCpu">torch's CPU generator state (base64), for dropout.</param>
/// <param name="LastTrainLoss">Last logged training loss, if any.</param>
/// <param name="LastValLoss">Last validation loss, if any.</param>
public sealed record TrainerState(
    long Step, long OptimizerSteps, GptConfig Model, RunSettings Run, string? DataDir, LoaderCursor Cursor,
    string RngCpu, double? LastTrainLoss, double? LastValLoss);

/// <summary>
/// Run hyperparameters stored with a checkpoint (the part of the train options a resume must keep). The schedule's
/// kind and cooldown are absent from checkpoints written before schedules had them: those were cosine.
/// </summary>
public sealed record RunSettings(
    int Steps, int BatchSize, int BlockSize, int GradAccum, double LearningRate, double MinLearningRate,
    int WarmupSteps, double WeightDecay, double Beta1, double Beta2, double GradClip, int Seed,
    string? Schedule = null, double? CooldownFraction = null, string? CooldownShape = null);
