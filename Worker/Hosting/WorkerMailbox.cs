using Orchestrator.Contracts.Runs;

namespace Orchestrator.Worker.Hosting;

/// <summary>A command for the training thread: take this assignment, or stop working on a run.</summary>
public abstract record WorkerCommand;
public sealed record AssignCommand(RunAssignment Assignment) : WorkerCommand;
public sealed record ReleaseCommand(string RunId, string Reason) : WorkerCommand;

/// <summary>
/// The one-slot mailbox between the worker grain (posts, never waits) and the training thread (checks it at every
/// step boundary). A newer command replaces an unread older one: only the latest epoch matters.
/// </summary>
public sealed class WorkerMailbox
{
    readonly object gate = new();
    readonly SemaphoreSlim signal = new(0);
    WorkerCommand? pending;

    public void Post(WorkerCommand command)
    {
        lock (gate) pending = command;
        signal.Release();
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
