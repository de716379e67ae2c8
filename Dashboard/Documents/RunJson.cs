using Orchestrator.Contracts.Runs;
using Orchestrator.Experiments.Planning;

namespace Orchestrator.Dashboard.Documents;

/// <summary>
/// A run as `orch run status --json` prints it and /api/runs/ID serves it (docs/CLI.md: id, state, step, world_size, generation,
/// loss, checkpoints; more added). The summary form (`orch run list --json`, /api/runs) leaves out the per-step
/// history, transitions, events and spec (null there).
/// </summary>
public sealed record RunJson(
    string Id, string Name, string State, int Step, int TotalSteps, int WorldSize, int Generation, double? Loss, double? ValLoss,
    double? TokensPerSecond, double? Mfu, IReadOnlyList<string> Workers, IReadOnlyList<string> Joining,
    IReadOnlyList<CheckpointJson> Checkpoints, string? Reason, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt,
    DateTimeOffset? EndedAt, IReadOnlyList<TransitionJson>? Transitions, IReadOnlyList<MetricJson>? History,
    PhasesJson? Phases, string? Sweep = null, double? EtaSeconds = null, IReadOnlyList<EventJson>? Events = null, RunSpec? Spec = null,
    string? Schedule = null, string? Parent = null, int? ForkStep = null, string? InitFrom = null, long TokensTrained = 0,
    double? Lr = null, double? ElapsedSeconds = null)
{
    public static RunJson From(RunStatus s, string? sweep = null)
    {
        long? n = s.Spec is { Model.Preset: null } spec ? ModelShapes.NonEmbeddingParams(spec.Model) : null;
        return Summary(s, sweep) with
        {
            Transitions = [.. s.Transitions.Select(t => new TransitionJson(t.State.ToString(), t.Reason, t.At, t.Generation))],
            History = [.. s.History.Select(h => new MetricJson(h.Step, h.Loss, h.TokensPerSecond, h.Mfu, h.ValLoss, h.At,
                h.Lr, h.Tokens, h.Tokens is { } t && n is { } p ? 6.0 * p * t : null, h.WorldSize, h.StepSeconds))],
            Events = [.. s.Events.Select(e => new EventJson(e.Kind.ToString(), e.At, e.Step, e.Generation, e.WorldSize, e.Detail))],
            Spec = s.Spec,
        };
    }

    public static RunJson Summary(RunStatus s, string? sweep = null) => new(
        s.Id, s.Name, s.State.ToString(), s.Step, s.TotalSteps, s.WorldSize, s.Generation, s.Loss, s.ValLoss, s.TokensPerSecond, s.Mfu,
        s.Workers, s.Joining, [.. s.Checkpoints.Select(c => new CheckpointJson(c.Step, c.Path, c.Generation, c.WorldSize, c.At))],
        s.Reason, s.CreatedAt, s.StartedAt, s.EndedAt, null, null, PhasesJson.Of(s.Phases), sweep, Eta(s),
        Schedule: s.Spec?.Schedule, Parent: s.Spec?.Parent, ForkStep: s.Spec?.ForkStep, InitFrom: s.Spec?.InitFrom, TokensTrained: s.TokensTrained,
        Lr: s.LearningRate, ElapsedSeconds: RunProgress.Elapsed(s, DateTimeOffset.UtcNow)?.TotalSeconds);

    /// <summary>Steps left at the rate of the last 30 s of reports (<see cref="RunProgress"/>); null when the run is not stepping.</summary>
    static double? Eta(RunStatus s) => s.State == RunState.Running ? RunProgress.Eta(s)?.TotalSeconds : null;
}

/// <summary>Where rank 0's wall time went in the finishing generation, seconds (docs/CLI.md "phases").</summary>
public sealed record PhasesJson(
    double StartupSeconds, double RendezvousSeconds, double BuildSeconds, double FirstStepSeconds, double StepsSeconds,
    double EvalAndCheckpointSeconds, double ReportsSeconds, double TotalSeconds, int Steps)
{
    public static PhasesJson? Of(RunPhases? p) => p is null ? null
        : new(p.Startup, p.Rendezvous, p.Build, p.FirstStep, p.Steps, p.EvalAndCheckpoint, p.Reports, p.Total, p.StepCount);
}

public sealed record CheckpointJson(int Step, string Path, int Generation, int WorldSize, DateTimeOffset At);
public sealed record TransitionJson(string State, string Reason, DateTimeOffset At, int Generation);

/// <summary>One reported step. Tokens: trained by all ranks so far; Flops: 6·N·tokens with N = 12·L·d² (null for presets).</summary>
public sealed record MetricJson(int Step, double Loss, double TokensPerSecond, double? Mfu, double? ValLoss, DateTimeOffset At,
    double? Lr, long? Tokens, double? Flops, int WorldSize, double StepSeconds);

/// <summary>Kind: Generation, WorkerLost, WorkerJoined, Restarted, Checkpoint (<see cref="RunEventKind"/>).</summary>
public sealed record EventJson(string Kind, DateTimeOffset At, int Step, int Generation, int WorldSize, string Detail);
