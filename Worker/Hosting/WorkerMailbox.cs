using Orchestrator.Contracts.Runs;

namespace Orchestrator.Worker.Hosting;

/// <summary>A command for the training thread: take this assignment, or stop working on a run.</summary>
public abstract record WorkerCommand;
public sealed record AssignCommand(RunAssignment Assignment) : WorkerCommand;
public sealed record ReleaseCommand(string RunId, string Reason) : WorkerCommand;

/// <summary>
/// The one-slot mailbox between the worker grain (posts, never waits) and the training thread (checks it at every
/// step boundary). A newer command replaces an unread older one: only the latest generation matters. One exception: the
/// grain's calls are one-way and come from different run grains, so a run's release can arrive after the
/// assignment to the next run that it made possible; it must not erase that assignment (the worker would idle
/// while the next run waited at its rendezvous for ever), so a release of another run than the pending
/// assignment's is dropped.
/// </summary>
public sealed class WorkerMailbox
{
    readonly object gate = new();
    readonly SemaphoreSlim signal = new(0);
    WorkerCommand? pending;

    /// <summary>Queues the command; false when it was dropped (a release overtaken by another run's assignment).</summary>
    public bool Post(WorkerCommand command)
    {
        lock (gate)
        {
            if (command is ReleaseCommand r && pending is AssignCommand a && a.Assignment.RunId != r.RunId) return false;
            pending = command;
        }
        signal.Release();
        return true;
    }

    public bool HasPending { get { lock (gate) return pending is not null; } }

    public WorkerCommand? TryTake()
    {
        lock (gate)
        {
            var c = pending;
            pending = null;
            return c;
        }
    }

    /// <summary>Blocks the training thread until a command arrives (or the worker stops).</summary>
    public WorkerCommand? Take(CancellationToken ct)
    {
        while (true)
        {
            if (TryTake() is { } c) return c;
            try { signal.Wait(ct); }
            catch (OperationCanceledException) { return null; }
        }
    }
}
