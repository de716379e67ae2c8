using System.Collections.Immutable;

namespace Orchestrator.Contracts.Runs;

/// <summary>What `orch run status` shows (JSON: id, state, step, world_size, generation, loss, checkpoints, ...).</summary>
[GenerateSerializer, Immutable, Alias("orch.RunStatus")]
public sealed record RunStatus
{
    [Id(0)] public string Id { get; init; } = "";
    [Id(1)] public string Name { get; init; } = "";
    [Id(2)] public RunState State { get; init; }
    /// <summary>Last completed optimizer step reported by rank 0.</summary>
    [Id(3)] public int Step { get; init; }
    [Id(4)] public int TotalSteps { get; init; }
    [Id(5)] public int WorldSize { get; init; }
    /// <summary>Membership generation: bumped on every rendezvous (start, loss of a worker, a joiner taken in).</summary>
    [Id(6)] public int Generation { get; init; }
    /// <summary>Last train loss (null before the first report).</summary>
    [Id(7)] public double? Loss { get; init; }
    [Id(8)] public double? TokensPerSecond { get; init; }
    [Id(9)] public double? Mfu { get; init; }
    [Id(10)] public double? ValLoss { get; init; }
    /// <summary>Committed (valid) checkpoints, oldest first.</summary>
    [Id(11)] public ImmutableArray<CheckpointRef> Checkpoints { get; init; } = [];
    /// <summary>Worker ids in rank order for the current generation.</summary>
    [Id(12)] public ImmutableArray<string> Workers { get; init; } = [];
    /// <summary>Every state change with its reason and time.</summary>
    [Id(13)] public ImmutableArray<StateTransition> Transitions { get; init; } = [];
    /// <summary>Step metrics history (rank 0), thinned to at most a few hundred points.</summary>
    [Id(14)] public ImmutableArray<MetricPoint> History { get; init; } = [];
    [Id(15)] public DateTimeOffset CreatedAt { get; init; }
    [Id(16)] public DateTimeOffset? StartedAt { get; init; }
    [Id(17)] public DateTimeOffset? EndedAt { get; init; }
    /// <summary>Why the run is in its state (the last transition's reason).</summary>
    [Id(18)] public string? Reason { get; init; }
    [Id(19)] public RunSpec? Spec { get; init; }
    /// <summary>Workers accepted while running, waiting for the next checkpoint boundary to be taken in.</summary>
    [Id(20)] public ImmutableArray<string> Joining { get; init; } = [];
    /// <summary>Where rank 0's wall time went in the generation that finished the run (null until then).</summary>
    [Id(21)] public RunPhases? Phases { get; init; }
    /// <summary>Membership and checkpoint events (generations, lost and joining workers, restarts, commits), capped; oldest first.</summary>
    [Id(22)] public ImmutableArray<RunEvent> Events { get; init; } = [];
    /// <summary>
    /// Tokens the model at <see cref="Step"/> was trained on: each step counted at the batch of the world that trained
    /// it, steps thrown away by a recovery not counted (a sweep's D).
    /// </summary>
    [Id(23)] public long TokensTrained { get; init; }
    /// <summary>The learning rate of the last reported step (null before the first report).</summary>
    [Id(24)] public double? LearningRate { get; init; }
}

[GenerateSerializer, Immutable, Alias("orch.StateTransition")]
public sealed record StateTransition(
    [property: Id(0)] RunState State,
    [property: Id(1)] string Reason,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] int Generation);

/// <summary>
/// One report of rank 0: the window of <see cref="WindowSteps"/> steps ending at <see cref="Step"/> (loss: their mean;
/// tokens/s, MFU and StepSeconds, the mean step time: over the window; LR: of the last step).
/// </summary>
[GenerateSerializer, Immutable, Alias("orch.MetricPoint")]
public sealed record MetricPoint(
    [property: Id(0)] int Step,
    [property: Id(1)] double Loss,
    [property: Id(2)] double TokensPerSecond,
    [property: Id(3)] double? Mfu,
    [property: Id(4)] DateTimeOffset At,
    [property: Id(5)] double? ValLoss = null,
    [property: Id(6)] double StepSeconds = 0,
    /// <summary>Learning rate used at this step (null where the trainer has no schedule).</summary>
    [property: Id(7)] double? Lr = null,
    /// <summary>Tokens trained by all ranks up to this step (filled in by the run grain from each generation's world size).</summary>
    [property: Id(8)] long? Tokens = null,
    /// <summary>World size of the generation that trained this step (filled in by the run grain).</summary>
    [property: Id(9)] int WorldSize = 0,
    /// <summary>Steps since the previous report (the window the loss and rates are over).</summary>
    [property: Id(10)] int WindowSteps = 1);

/// <summary>A valid checkpoint: every rank of its generation wrote its shard; Path holds its manifest.</summary>
[GenerateSerializer, Immutable, Alias("orch.CheckpointRef")]
public sealed record CheckpointRef(
    [property: Id(0)] int Step,
    [property: Id(1)] string Path,
    [property: Id(2)] int Generation,
    [property: Id(3)] int WorldSize,
    [property: Id(4)] DateTimeOffset At,
    /// <summary>This rank's write time in seconds (blocked plus background), where the writer measured it.</summary>
    [property: Id(5)] double? WriteSeconds = null);
