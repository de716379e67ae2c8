using Orchestrator.Contracts.Limits;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Coordinator.Runs;

/// <summary>
/// Checks a RunSpec before anything starts. Every problem is collected and named with its field and the fix, so
/// one submit shows them all.
/// </summary>
public static class RunSpecValidator
{
    /// <summary>Returns the problems (empty when the spec is valid).</summary>
    public static IReadOnlyList<string> Problems(RunSpec spec)
    {
        var p = new List<string>();
        if (string.IsNullOrWhiteSpace(spec.Name)) p.Add("name: missing (give the run a name, e.g. name: tiny-brown)");
        else if (ResourceLimits.NameProblem(spec.Name, "name") is { } nameProblem) p.Add(nameProblem);
        if (spec.Trainer is not ("gpt" or "light")) p.Add($"trainer: '{spec.Trainer}' is not gpt or light");
        if (spec.Trainer == "gpt" && string.IsNullOrWhiteSpace(spec.Data))
            p.Add("data: missing (the directory written by `orch data prepare`)");
        if (spec.Model.Preset is { } preset)
        {
            if (!ModelShapes.TryGetPreset(preset, out _)) p.Add($"model.preset: '{preset}' is not one of {string.Join(", ", ModelShapes.PresetNames)}");
        }
        else
        {
            if (spec.Model.NLayer < 1) p.Add($"model.n_layer: {spec.Model.NLayer} must be at least 1");
            if (spec.Model.NHead < 1) p.Add($"model.n_head: {spec.Model.NHead} must be at least 1");
            if (spec.Model.NEmbd < 1) p.Add($"model.n_embd: {spec.Model.NEmbd} must be at least 1");
            else if (spec.Model.NHead >= 1 && spec.Model.NEmbd % spec.Model.NHead != 0)
                p.Add($"model.n_embd: {spec.Model.NEmbd} is not a multiple of n_head {spec.Model.NHead}");
        }
        if (spec.Model.BlockSize < 1) p.Add($"model.block_size: {spec.Model.BlockSize} must be at least 1");
        int width = spec.Model.Preset is { } named && ModelShapes.TryGetPreset(named, out var resolved) ? resolved.NEmbd : spec.Model.NEmbd;
        if (Parametrizations.Problem(spec.Model.Parametrization ?? "", spec.Model.BaseWidth, width, "model") is { } parametrization) p.Add(parametrization);
        if (spec.Batch < 1) p.Add($"batch: {spec.Batch} must be at least 1");
        if (spec.GradAccum < 1) p.Add($"grad_accum: {spec.GradAccum} must be at least 1");
        if (WorldBatch.Problem(spec) is { } globalBatch) p.Add(globalBatch);
        if (spec.Steps < 0) p.Add($"steps: {spec.Steps} must be positive");
        else if (spec.Tokens is <= 0) p.Add($"tokens: {spec.Tokens} must be positive");
        else if (spec.Steps > 0 && spec.Tokens is not null) p.Add("steps and tokens: give one of them, not both");
        else if (spec.Steps == 0 && spec.Tokens is null) p.Add("steps: missing (or give a token budget with tokens: N)");
        if (!(spec.Lr > 0 && double.IsFinite(spec.Lr))) p.Add($"lr: {spec.Lr} must be a positive number");
        if (spec.Workers.Min < 1) p.Add($"workers.min: {spec.Workers.Min} must be at least 1");
        if (spec.Workers.Max < spec.Workers.Min) p.Add($"workers.max: {spec.Workers.Max} is below workers.min {spec.Workers.Min}");
        else if (spec.Workers.Max > ResourceLimits.MaxWorkersPerRun) p.Add($"workers.max: {spec.Workers.Max} is over the limit of {ResourceLimits.MaxWorkersPerRun}");
        if (spec.Seed < 0) p.Add($"seed: {spec.Seed} must not be negative");
        if (spec.Options.Count > ResourceLimits.MaxOptions) p.Add($"options: {spec.Options.Count} entries; at most {ResourceLimits.MaxOptions}");
        else if (spec.Options.Any(kv => kv.Key.Length > ResourceLimits.MaxOptionLength || kv.Value.Length > ResourceLimits.MaxOptionLength))
            p.Add($"options: keys and values may hold at most {ResourceLimits.MaxOptionLength} characters");
        if (spec.Data.Length > 4096) p.Add($"data: {spec.Data.Length} characters; a path holds at most 4096");
        else if (HasParentSegment(spec.Data)) p.Add($"data: '{spec.Data}' holds '..': give the folder without parent steps");
        if (spec.Device is not ("cpu" or "cuda")) p.Add($"device: '{spec.Device}' is not cpu or cuda");
        if (spec.Backend is not ("ring" or "nccl")) p.Add($"backend: '{spec.Backend}' is not ring or nccl");
        else if (spec.Backend == "nccl" && spec.Device != "cuda") p.Add("backend: nccl needs device: cuda (use backend: ring on CPU)");
        if (spec.CudaGraphs is not ("auto" or "on" or "off")) p.Add($"cuda_graphs: '{spec.CudaGraphs}' is not on, off or auto");
        else if (spec.CudaGraphs == "on" && spec.Device != "cuda") p.Add("cuda_graphs: on needs device: cuda");
        if (spec.Zero is < 0 or > 3) p.Add($"zero: {spec.Zero} is not a ZeRO stage 0..3");
        if (spec.Checkpoint.Every < 1) p.Add($"checkpoint.every: {spec.Checkpoint.Every} must be at least 1 step");
        if (spec.Checkpoint.Keep < 1) p.Add($"checkpoint.keep: {spec.Checkpoint.Keep} must be at least 1");
        if (string.IsNullOrWhiteSpace(spec.Checkpoint.Path))
            p.Add("checkpoint.path: missing (a directory every worker can reach, e.g. /shared/runs)");
        else if (spec.Checkpoint.Path.Length > 4096) p.Add($"checkpoint.path: {spec.Checkpoint.Path.Length} characters; a path holds at most 4096");
        else if (!Path.IsPathFullyQualified(spec.Checkpoint.Path))
            p.Add($"checkpoint.path: '{spec.Checkpoint.Path}' is not an absolute path (workers run in other directories)");
        else if (HasParentSegment(spec.Checkpoint.Path))
            p.Add($"checkpoint.path: '{spec.Checkpoint.Path}' holds '..': give the folder without parent steps");
        if (spec.WarmupSteps < 0) p.Add($"warmup_steps: {spec.WarmupSteps} must not be negative");
        int horizon = spec.ResolvedSteps;
        p.AddRange(LrScheduleSpec.Problems(spec.Schedule, spec.CooldownFraction, spec.CooldownShape, spec.MinLr, spec.Lr,
            horizon >= 1 ? horizon : null, spec.WarmupSteps > 0 ? spec.WarmupSteps : Math.Min(2000, horizon / 10), k => k));
        if (spec.Checkpoint.Pinned.FirstOrDefault(s => s < 1 || (horizon >= 1 && s > horizon)) is int bad and not 0)
            p.Add($"checkpoint.at: step {bad} is outside the run's 1..{horizon}");
        if (spec.ForkStep is not null && spec.InitFrom is null) p.Add("fork_step: needs init_from (the checkpoint or run folder to fork from)");
        if (spec.ForkStep is int fork && (fork < 1 || (horizon >= 1 && fork >= horizon)))
            p.Add($"fork_step: {fork} must be a step in 1..{horizon - 1}");
        if (spec.InitFrom is { } from && !Path.IsPathFullyQualified(from))
            p.Add($"init_from: '{from}' is not an absolute path (workers run in other directories)");
        if (spec.EvalEvery < 0) p.Add($"eval_every: {spec.EvalEvery} must not be negative");
        if (spec.DeviceShare is { } share && !(share > 0 && share <= 1))
            p.Add($"device_share: {share} must be in (0, 1] (the fraction of one device each rank takes, e.g. 0.25 for four runs per device)");
        if (spec.Trainer == "light" && spec.StepMs is < 0 or > 60_000) p.Add($"step_ms: {spec.StepMs} must be 0..60000");
        return p;
    }

    static bool HasParentSegment(string path) => path.Split('/', '\\').Contains("..");

    /// <summary>Throws <see cref="InvalidRunSpecException"/> listing every problem.</summary>
    public static void Validate(RunSpec spec)
    {
        var problems = Problems(spec);
        if (problems.Count > 0)
            throw new InvalidRunSpecException($"invalid run spec: {string.Join("; ", problems)}");
    }
}
