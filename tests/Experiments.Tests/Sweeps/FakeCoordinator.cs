using System.Collections.Concurrent;
using System.Collections.Immutable;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;
using Orchestrator.Experiments.Fitting;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace Orchestrator.Tests.Experiments.Sweeps;

/// <summary>
/// A stand-in for the coordinator's scheduler and run grains: a run advances a third of its steps each time it is
/// polled and completes with the loss a known law gives (N from its shape, D from its steps), so the sweep's fit has
/// a truth to find (times an lr penalty when the option fake_lr_opt is set). Runs whose name contains a FailOnce key fail on their first attempt; AlwaysFail keys always fail.
/// </summary>
public static class FakeCoordinator
{
    public static readonly ChinchillaLaw Law = new(1.8, 30, 600, 0.3, 0.3);
    public static readonly ConcurrentDictionary<string, byte> FailOnce = new();
    public static readonly ConcurrentDictionary<string, byte> AlwaysFail = new();
    public static readonly ConcurrentDictionary<string, byte> Active = new();
    public static int MaxActive;
    public static int Submitted;
    /// <summary>Every spec submitted, by run id (branches' init_from and fork_step, retried trunks' init_from).</summary>
    public static readonly ConcurrentDictionary<string, RunSpec> Specs = new();

    internal static void Started(string id, RunSpec spec)
    {
        Specs[id] = spec;
        Active[id] = 0;
        Interlocked.Increment(ref Submitted);
        int now = Active.Count, seen;
        while (now > (seen = MaxActive) && Interlocked.CompareExchange(ref MaxActive, now, seen) != seen) { }
    }
}

public sealed class FakeSchedulerGrain : Grain, ISchedulerGrain
{
    int next;

    public async Task<RunStatus> SubmitRunAsync(RunSpec spec)
    {
        if (spec.Steps < 1) throw new InvalidRunSpecException("steps: missing");
        return await GrainFactory.GetGrain<IRunGrain>($"{spec.Name}-{next++:x4}").SubmitAsync(spec);
    }

    public Task<WorkerInfo> RegisterWorkerAsync(WorkerInfo worker) => throw new NotSupportedException();
    public Task<ImmutableArray<WorkerInfo>> ListWorkersAsync() => Task.FromResult(ImmutableArray<WorkerInfo>.Empty);
    public Task<ImmutableArray<WorkerInfo>> ListRecentWorkersAsync() => Task.FromResult(ImmutableArray<WorkerInfo>.Empty);
    public Task WorkerLostAsync(string workerId, string reason, string? siloAddress = null) => Task.CompletedTask;
    public Task<ImmutableArray<string>> ListRunsAsync() => Task.FromResult(ImmutableArray<string>.Empty);
    /// <summary>No devices to fit, but every spec must pass the coordinator's real validation (a branch's among them).</summary>
    public Task CheckPlaceableAsync(ImmutableArray<RunSpec> specs)
    {
        foreach (var spec in specs) Orchestrator.Coordinator.Runs.RunSpecValidator.Validate(spec);
        return Task.CompletedTask;
    }
    public Task RequestWorkersAsync(string runId) => Task.CompletedTask;
    public Task ReleaseWorkersAsync(string runId, ImmutableArray<string> workerIds, bool runEnded) => Task.CompletedTask;
}

public sealed class FakeRunGrain : Grain, IRunGrain
{
    RunStatus? status;
    int polls;

    public Task<RunStatus> SubmitAsync(RunSpec spec)
    {
        status = new RunStatus { Id = this.GetPrimaryKeyString(), Name = spec.Name, State = RunState.Pending, TotalSteps = spec.Steps, Spec = spec };
        FakeCoordinator.Started(status.Id, spec);
        return Task.FromResult(status);
    }

    public Task<RunStatus> GetStatusAsync()
    {
        var s = status ?? throw new UnknownRunException($"no run '{this.GetPrimaryKeyString()}'");
        if (s.State.IsFinal()) return Task.FromResult(s);
        var spec = s.Spec!;
        // A fork starts at its checkpoint's step (ckpt-NNNNNN), as the trainer does.
        int from = spec.InitFrom is { } init && int.TryParse(Path.GetFileName(init).Replace("ckpt-", ""), out var f) ? f : 0;
        int step = Math.Min(spec.Steps, from + (spec.Steps - from) * ++polls / 3);
        // Committed checkpoints: the pinned steps passed so far, and the newest step (the run grain's keep-last-N).
        var checkpoints = spec.Checkpoint.Pinned.Where(p => p > from && p <= step).Append(step).Distinct().Order()
            .Select(p => new CheckpointRef(p, Path.Combine(spec.Checkpoint.Path, s.Id, $"ckpt-{p:D6}"), 1, 1, DateTimeOffset.UtcNow));
        s = s with { Checkpoints = [.. s.Checkpoints.Where(c => spec.Checkpoint.Pinned.Contains(c.Step)).Concat(checkpoints).DistinctBy(c => c.Step).OrderBy(c => c.Step)] };
        long n = 12L * spec.Model.NLayer * spec.Model.NEmbd * spec.Model.NEmbd;
        double tokensPerStep = spec.Batch * spec.Model.BlockSize * spec.Workers.Max;
        double loss = FakeCoordinator.Law.Predict(n, Math.Max(1, step) * tokensPerStep);
        // With option fake_lr_opt (the best lr at N = 1e4, falling as N^-0.5), a wrong lr costs loss quadratically in
        // log lr: the objective a learning-rate search has to find.
        if (spec.Options.TryGetValue("fake_lr_opt", out var opt))
        {
            double best = double.Parse(opt, System.Globalization.CultureInfo.InvariantCulture) * Math.Pow(n / 1e4, -0.5);
            loss *= 1 + 0.2 * Math.Pow(Math.Log(spec.Lr / best), 2);
        }
        var history = s.History.Add(new MetricPoint(step, loss, 1000, null, DateTimeOffset.UtcNow));
        bool fail = FakeCoordinator.AlwaysFail.Keys.Any(spec.Name.Contains)
            || (spec.Name.EndsWith(".a1") && FakeCoordinator.FailOnce.Keys.Any(spec.Name.Contains));
        if (fail && polls == 2)
            s = s with { State = RunState.Failed, Step = step, Loss = loss, History = history, Reason = "worker crashed (injected)" };
        else if (step >= spec.Steps)
            s = s with { State = RunState.Completed, Step = step, Loss = loss, ValLoss = loss, History = history, Reason = "done" };
        else
            s = s with { State = RunState.Running, Step = step, Loss = loss, History = history };
        if (s.State.IsFinal()) FakeCoordinator.Active.TryRemove(s.Id, out _);
        status = s;
        return Task.FromResult(s);
    }

    public Task<RunStatus> CancelAsync(string reason)
    {
        if (status is { } s && !s.State.IsFinal())
        {
            status = s with { State = RunState.Cancelled, Reason = reason };
            FakeCoordinator.Active.TryRemove(s.Id, out _);
        }
        return Task.FromResult(status!);
    }

    public Task<ImmutableArray<string>> OfferWorkersAsync(ImmutableArray<WorkerInfo> workers) => Task.FromResult(ImmutableArray<string>.Empty);
    public Task WorkerLostAsync(string workerId, string reason) => Task.CompletedTask;
    public Task<RendezvousReply> RendezvousAsync(RendezvousRequest request) => throw new NotSupportedException();
    public Task<ReportOutcome> ReportAsync(ProgressReport report) => throw new NotSupportedException();
    public Task<RunLogPage> GetLogsAsync(RunLogQuery query) => throw new NotSupportedException();
}

/// <summary>The coordinator's control-plane director lives in Coordinator; in this one-silo cluster any silo will do.</summary>
public sealed class AnySiloDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context) =>
        Task.FromResult(context.GetCompatibleSilos(target).First());
}
