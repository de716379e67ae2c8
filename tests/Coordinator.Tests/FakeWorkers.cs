using System.Collections.Concurrent;
using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;

namespace Orchestrator.Tests.Coordinator;

/// <summary>What the run told each fake worker, with a way to await the next command instead of sleeping.</summary>
public sealed class CommandLog
{
    readonly ConcurrentDictionary<string, List<object>> byWorker = new();
    readonly object gate = new();
    readonly List<(Func<bool> Ready, TaskCompletionSource Done)> waiters = [];

    public void Add(string worker, object command)
    {
        lock (gate)
        {
            byWorker.GetOrAdd(worker, _ => []).Add(command);
            foreach (var w in waiters.Where(w => w.Ready()).ToList()) { w.Done.TrySetResult(); waiters.Remove(w); }
        }
    }

    public IReadOnlyList<RunAssignment> Assignments(string worker)
    {
        lock (gate) return byWorker.TryGetValue(worker, out var l) ? l.OfType<RunAssignment>().ToList() : [];
    }

    public IReadOnlyList<string> Releases(string worker)
    {
        lock (gate) return byWorker.TryGetValue(worker, out var l) ? l.OfType<string>().ToList() : [];
    }

    /// <summary>Completes when the worker has an assignment for this generation (10 s guard against a hang, not a sleep).</summary>
    public Task<RunAssignment> AssignmentAsync(string worker, int generation) =>
        WhenAsync(() => Assignments(worker).Any(a => a.Generation == generation))
            .ContinueWith(_ => Assignments(worker).Last(a => a.Generation == generation), TaskContinuationOptions.OnlyOnRanToCompletion);

    /// <summary>Completes when the worker has an assignment for this run (10 s guard against a hang, not a sleep).</summary>
    public Task<RunAssignment> AssignedAsync(string worker, string runId) =>
        WhenAsync(() => Assignments(worker).Any(a => a.RunId == runId))
            .ContinueWith(_ => Assignments(worker).Last(a => a.RunId == runId), TaskContinuationOptions.OnlyOnRanToCompletion);

    public Task ReleasedAsync(string worker) => WhenAsync(() => Releases(worker).Count > 0);

    Task WhenAsync(Func<bool> ready)
    {
        lock (gate)
        {
            if (ready()) return Task.CompletedTask;
            var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            waiters.Add((ready, tcs));
            return tcs.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }
}

/// <summary>Stands in for the worker process's grain: records commands, trains nothing.</summary>
public sealed class FakeWorkerGrain(CommandLog log) : Grain, IWorkerGrain
{
    public Task AssignAsync(RunAssignment assignment)
    {
        log.Add(this.GetPrimaryKeyString(), assignment);
        return Task.CompletedTask;
    }

    public Task ReleaseAsync(string runId, string reason)
    {
        log.Add(this.GetPrimaryKeyString(), runId);
        return Task.CompletedTask;
    }

    public Task<WorkerInfo> GetInfoAsync() => Task.FromResult(new WorkerInfo { Id = this.GetPrimaryKeyString() });
}
