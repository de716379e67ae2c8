namespace Orchestrator.Contracts.Runs;

/// <summary>
/// The life of a run. Pending: waiting for min workers. Rendezvous: ranks assigned, communicator being built.
/// Running: stepping. Recovering: a worker was lost (or joins); re-rendezvous at the next generation.
/// Completed, Failed, Cancelled are final.
/// </summary>
[GenerateSerializer]
public enum RunState
{
    Pending = 0,
    Rendezvous = 1,
    Running = 2,
    Recovering = 3,
    Completed = 4,
    Failed = 5,
    Cancelled = 6,
}

public static class RunStateExtensions
{
    public static bool IsFinal(this RunState s) => s is RunState.Completed or RunState.Failed or RunState.Cancelled;
}
