using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;

namespace Orchestrator.Tests.Coordinator;

/// <summary>Gang scheduling, rendezvous, progress, checkpoint commits, completion: a run's happy path, step by step.</summary>
public sealed class RunLifecycleTests : ClusterTest
{
    [Fact]
    public async Task Run_waits_for_min_workers_then_rendezvous_and_runs()
    {
        await RegisterAsync("w1");
        var submitted = await Scheduler.SubmitRunAsync(Spec("gang"));
        Assert.Equal(RunState.Pending, submitted.State);
        Assert.StartsWith("gang-", submitted.Id);
        Assert.Equal(Time.GetUtcNow(), submitted.CreatedAt);

        // One worker is below min 2: nothing starts, nobody is taken.
        var pending = await Run(submitted.Id).GetStatusAsync();
        Assert.Equal(RunState.Pending, pending.State);
        Assert.Empty(Commands.Assignments("w1"));

        Time.Advance(TimeSpan.FromSeconds(5));
        await RegisterAsync("w2");
        var a0 = await Commands.AssignmentAsync("w1", 1);
        var a1 = await Commands.AssignmentAsync("w2", 1);
        Assert.Equal((0, 2, 1), (a0.Rank, a0.WorldSize, a0.Generation));
        Assert.Equal((1, 2, 1), (a1.Rank, a1.WorldSize, a1.Generation));
        Assert.Null(a0.ResumeFrom);
        Assert.Equal("w1,w2", string.Join(",", a0.Members));

        var rendezvous = await Run(submitted.Id).GetStatusAsync();
        Assert.Equal(RunState.Rendezvous, rendezvous.State);
        Assert.Equal(Time.GetUtcNow(), rendezvous.Transitions[^1].At);

        var first = await Run(submitted.Id).RendezvousAsync(new RendezvousRequest("w1", 1, 0, "10.0.0.1:5000"));
        Assert.Equal(RendezvousOutcome.Waiting, first.Outcome);
        var second = await Run(submitted.Id).RendezvousAsync(new RendezvousRequest("w2", 1, 1, "10.0.0.2:5000"));
        Assert.Equal(RendezvousOutcome.Ready, second.Outcome);
        Assert.Equal("10.0.0.1:5000,10.0.0.2:5000", string.Join(",", second.Bootstraps));
        // A late poller of the same generation gets the same answer.
        Assert.Equal(second.Bootstraps.ToArray(), (await Run(submitted.Id).RendezvousAsync(new RendezvousRequest("w1", 1, 0, "10.0.0.1:5000"))).Bootstraps.ToArray());

        var running = await Run(submitted.Id).GetStatusAsync();
        Assert.Equal(RunState.Running, running.State);
        Assert.Equal(Time.GetUtcNow(), running.StartedAt);
        Assert.Equal([RunState.Pending, RunState.Rendezvous, RunState.Running], running.Transitions.Select(t => t.State));

        var workers = await Scheduler.ListWorkersAsync();
        Assert.All(workers, w => Assert.Equal((WorkerState.Busy, submitted.Id), (w.State, w.RunId)));
    }

    [Fact]
    public async Task Checkpoint_commits_only_when_every_rank_wrote_its_shard_and_run_completes()
    {
        var (id, a) = await StartedRunAsync("ck", steps: 20, every: 10);

        Assert.Equal(ReportOutcome.Continue, await Run(id).ReportAsync(Steps(a[0], 1, 10, checkpointAt: 10)));
        var afterRank0 = await Run(id).GetStatusAsync();
        Assert.Equal(10, afterRank0.Step);
        Assert.Equal(0.5, afterRank0.Loss);
        Assert.Equal(10, afterRank0.History.Length);
        Assert.Empty(afterRank0.Checkpoints);

        Assert.Equal(ReportOutcome.Continue, await Run(id).ReportAsync(Steps(a[1], 1, 10, checkpointAt: 10) with { Steps = [] }));
        var committed = await Run(id).GetStatusAsync();
        Assert.Equal([10], committed.Checkpoints.Select(c => c.Step));
        Assert.Equal("/tmp/orch-tests/ck-10-e1", committed.Checkpoints[0].Path);

        Assert.Equal(ReportOutcome.Continue, await Run(id).ReportAsync(Steps(a[0], 11, 20, checkpointAt: 20, finished: true) with { FinalValLoss = 0.3 }));
        Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(ReportOutcome.Stop, await Run(id).ReportAsync(Steps(a[1], 11, 20, checkpointAt: 20, finished: true) with { Steps = [] }));

        var done = await Run(id).GetStatusAsync();
        Assert.Equal(RunState.Completed, done.State);
        Assert.Equal(0.3, done.ValLoss);
        Assert.Equal(Time.GetUtcNow(), done.EndedAt);
        Assert.Equal([10, 20], done.Checkpoints.Select(c => c.Step));
        await Commands.ReleasedAsync("w1");
        await Commands.ReleasedAsync("w2");
        // The scheduler's view follows (one-way): wait on the grain, not the clock.
        var workers = await Eventually(async () => await Scheduler.ListWorkersAsync(), ws => ws.All(w => w.State == WorkerState.Idle));
        Assert.All(workers, w => Assert.Null(w.RunId));
        Assert.Equal(ReportOutcome.Stop, await Run(id).ReportAsync(Steps(a[0], 21, 21)));
    }

    [Fact]
    public async Task Keep_bounds_the_checkpoint_list()
    {
        var (id, a) = await StartedRunAsync("keep", steps: 100, every: 10);
        foreach (var step in new[] { 10, 20, 30 })
            foreach (var r in a) await Run(id).ReportAsync(Steps(r, step, step, checkpointAt: step));
        Assert.Equal([20, 30], (await Run(id).GetStatusAsync()).Checkpoints.Select(c => c.Step));
    }

    /// <summary>Two workers, a run of min 2 max 2, rendezvous done.</summary>
    internal async Task<(string Id, RunAssignment[] Ranks)> StartedRunAsync(string name, int steps = 100, int every = 10, int max = 2)
    {
        await RegisterAsync("w1");
        await RegisterAsync("w2");
        var id = (await Scheduler.SubmitRunAsync(Spec(name, 2, max, steps, every))).Id;
        var ranks = new[] { await Commands.AssignmentAsync("w1", 1), await Commands.AssignmentAsync("w2", 1) };
        Assert.Equal(RendezvousOutcome.Ready, (await RendezvousAllAsync(id, ranks)).Outcome);
        return (id, ranks);
    }

    /// <summary>Re-reads until the condition holds; for one-way effects only (bounded, yields between reads).</summary>
    internal static async Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> ok)
    {
        for (int i = 0; ; i++)
        {
            var v = await read();
            if (ok(v) || i == 200) return v;
            await Task.Yield();
        }
    }
}
