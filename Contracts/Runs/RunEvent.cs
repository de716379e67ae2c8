namespace Orchestrator.Contracts.Runs;

/// <summary>
/// What changed a run's membership or made it durable, for the dashboard's markers: each new generation (with its world
/// size), a lost worker, a worker taken in, a restart after a transient error, a committed checkpoint. The run grain
/// keeps at most a few hundred (older checkpoint events thinned first), so a long run's state stays bounded.
/// </summary>
[GenerateSerializer, Immutable, Alias("orch.RunEvent")]
public sealed record RunEvent(
    [property: Id(0)] RunEventKind Kind,
    [property: Id(1)] DateTimeOffset At,
    /// <summary>The run's step when it happened (for a generation: the step it resumes from).</summary>
    [property: Id(2)] int Step,
    [property: Id(3)] int Generation,
    /// <summary>World size after the event.</summary>
    [property: Id(4)] int WorldSize,
    [property: Id(5)] string Detail);

[GenerateSerializer]
public enum RunEventKind
{
    /// <summary>A rendezvous began: a new membership generation of WorldSize ranks.</summary>
    Generation = 0,
    WorkerLost = 1,
    WorkerJoined = 2,
    /// <summary>The generation was rebuilt after a transient (communication) error.</summary>
    Restarted = 3,
    Checkpoint = 4,
}
