using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;

namespace Orchestrator.Tests.Coordinator;

/// <summary>Cancel, failures, and the errors users and workers get.</summary>
public sealed class ControlTests : ClusterTest
{
    [Fact]
    public async Task Invalid_spec_is_refused_with_every_problem_named_and_nothing_started()
    {
        await RegisterAsync("w1");
        var bad = Spec("bad") with { Workers = new() { Min = 3, Max = 2 }, Checkpoint = new() { Every = 0, Path = "relative/dir" }, Zero = 4 };
        var e = await Assert.ThrowsAsync<InvalidRunSpecException>(() => Scheduler.SubmitRunAsync(bad));
        Assert.Contains("workers.max: 2 is below workers.min 3", e.Message);
        Assert.Contains("checkpoint.every: 0", e.Message);
        Assert.Contains("checkpoint.path: 'relative/dir' is not an absolute path", e.Message);
        Assert.Contains("zero: 4", e.Message);
        Assert.Empty(await Scheduler.ListRunsAsync());
        Assert.Equal(WorkerState.Idle, (await Scheduler.ListWorkersAsync()).Single().State);
    }

    [Fact]
    public async Task Unknown_run_id_is_a_clear_error()
    {
        var e = await Assert.ThrowsAsync<UnknownRunException>(() => Run("nope-123456").GetStatusAsync());
        Assert.Equal("no run 'nope-123456' (`orch run list` shows the runs)", e.Message);
    }

    [Fact]
    public async Task Worker_of_another_protocol_version_is_refused()
    {
        var e = await Assert.ThrowsAsync<IncompatibleWorkerException>(() => RegisterAsync("old", ProtocolVersion.Current + 1));
        Assert.Contains($"speaks protocol {ProtocolVersion.Current + 1} but this coordinator speaks {ProtocolVersion.Current}", e.Message);
        Assert.Empty(await Scheduler.ListWorkersAsync());
    }

    [Fact]
    public async Task Cancel_releases_the_workers_and_stops_every_rank()
    {
        await RegisterAsync("w1");
        await RegisterAsync("w2");
        var id = (await Scheduler.SubmitRunAsync(Spec("cancel"))).Id;
        var a = await Commands.AssignmentAsync("w1", 1);
        Time.Advance(TimeSpan.FromSeconds(3));
        var cancelled = await Run(id).CancelAsync("cancelled by user");
        Assert.Equal((RunState.Cancelled, "cancelled by user"), (cancelled.State, cancelled.Reason));
        Assert.Equal(Time.GetUtcNow(), cancelled.EndedAt);
        await Commands.ReleasedAsync("w1");
        await Commands.ReleasedAsync("w2");
        Assert.Equal(ReportOutcome.Stop, await Run(id).ReportAsync(Steps(a, 1, 1)));
        Assert.Equal(RendezvousOutcome.Stale, (await Run(id).RendezvousAsync(new RendezvousRequest("w1", 1, 0, "x"))).Outcome);
        // Cancelling again changes nothing.
        Assert.Equal(cancelled.EndedAt, (await Run(id).CancelAsync("again")).EndedAt);

        // The workers are free for the next run.
        var next = (await Scheduler.SubmitRunAsync(Spec("next"))).Id;
        // Awaited as the assignment itself arrives (release, offer and assignment are one-way messages).
        var n = await Commands.AssignedAsync("w1", next);
        Assert.Equal((next, 1), (n.RunId, n.Generation));
    }

    [Fact]
    public async Task Fatal_job_error_fails_the_run_transient_one_restarts_the_generation()
    {
        await RegisterAsync("w1");
        await RegisterAsync("w2");
        var id = (await Scheduler.SubmitRunAsync(Spec("err"))).Id;
        var a = new[] { await Commands.AssignmentAsync("w1", 1), await Commands.AssignmentAsync("w2", 1) };
        await RendezvousAllAsync(id, a);

        Assert.Equal(ReportOutcome.Stale, await Run(id).ReportAsync(Steps(a[1], 1, 1) with { Error = "connection reset by peer", ErrorIsTransient = true }));
        var b = new[] { await Commands.AssignmentAsync("w1", 2), await Commands.AssignmentAsync("w2", 2) };
        Assert.Equal(2, (await Run(id).GetStatusAsync()).Generation);

        await RendezvousAllAsync(id, b);
        Assert.Equal(ReportOutcome.Stop, await Run(id).ReportAsync(Steps(b[0], 1, 1) with { Error = "data: manifest.json not found" }));
        var failed = await Run(id).GetStatusAsync();
        Assert.Equal(RunState.Failed, failed.State);
        Assert.Equal("rank 0 (w1) failed: data: manifest.json not found", failed.Reason);
    }
}
