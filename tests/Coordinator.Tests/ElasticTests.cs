using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;
using Orchestrator.Coordinator.Runs;

namespace Orchestrator.Tests.Coordinator;

/// <summary>Membership generations: a lost worker, a worker below min, a joiner taken in at the next checkpoint.</summary>
public sealed class ElasticTests : ClusterTest
{
    RunLifecycleTests Helper => new();

    async Task<(string Id, RunAssignment[] Ranks)> StartAsync(int max)
    {
        await RegisterAsync("w1");
        await RegisterAsync("w2");
        var id = (await Scheduler.SubmitRunAsync(Spec("elastic", 2, max, 100, 10))).Id;
        var ranks = new[] { await Commands.AssignmentAsync("w1", 1), await Commands.AssignmentAsync("w2", 1) };
        Assert.Equal(RendezvousOutcome.Ready, (await RendezvousAllAsync(id, ranks)).Outcome);
        return (id, ranks);
    }

    [Fact]
    public async Task Joiner_waits_for_the_next_checkpoint_then_everyone_resumes_from_it_at_a_new_generation()
    {
        var (id, a) = await StartAsync(max: 3);
        await RegisterAsync("w3");
        var joining = await RunLifecycleTests.Eventually(() => Run(id).GetStatusAsync(), s => s.Joining.Length == 1);
        Assert.Equal("w3", Assert.Single(joining.Joining));
        Assert.Equal((1, 2, RunState.Running), (joining.Generation, joining.WorldSize, joining.State));
        Assert.Empty(Commands.Assignments("w3"));

        // Steps without a checkpoint: nothing changes.
        Assert.Equal(ReportOutcome.Continue, await Run(id).ReportAsync(Steps(a[0], 1, 5)));
        // The checkpoint at step 10 commits when rank 1 reports it: that is the boundary.
        Assert.Equal(ReportOutcome.Continue, await Run(id).ReportAsync(Steps(a[0], 6, 10, checkpointAt: 10)));
        Assert.Equal(ReportOutcome.Stale, await Run(id).ReportAsync(Steps(a[1], 1, 10, checkpointAt: 10) with { Steps = [] }));

        var b = new[] { await Commands.AssignmentAsync("w1", 2), await Commands.AssignmentAsync("w2", 2), await Commands.AssignmentAsync("w3", 2) };
        Assert.All(b, x => Assert.Equal((3, 10), (x.WorldSize, x.ResumeFrom!.Step)));
        Assert.Equal([0, 1, 2], b.Select(x => x.Rank));
        var s = await Run(id).GetStatusAsync();
        Assert.Equal((2, 3, RunState.Rendezvous, 10), (s.Generation, s.WorldSize, s.State, s.Step));
        Assert.Empty(s.Joining);
        // The old generation is over for everyone.
        Assert.Equal(ReportOutcome.Stale, await Run(id).ReportAsync(Steps(a[0], 11, 11)));
        Assert.Equal(RendezvousOutcome.Stale, (await Run(id).RendezvousAsync(new RendezvousRequest("w1", 1, 0, "x"))).Outcome);
        Assert.Equal(RendezvousOutcome.Ready, (await RendezvousAllAsync(id, b)).Outcome);
    }

    [Fact]
    public async Task Lost_worker_starts_a_new_generation_with_the_survivors_from_the_last_checkpoint()
    {
        await RegisterAsync("w3");
        var (id, a) = await StartAsyncWithThree();
        foreach (var r in a) await Run(id).ReportAsync(Steps(r, 1, 10, checkpointAt: 10));
        await Run(id).ReportAsync(Steps(a[0], 11, 14));

        Time.Advance(TimeSpan.FromSeconds(30));
        await Scheduler.WorkerLostAsync("w2", "declared dead by failure detection", "silo-w2");
        var b1 = await Commands.AssignmentAsync("w1", 2);
        var b3 = await Commands.AssignmentAsync("w3", 2);
        Assert.Equal((0, 2, 10), (b1.Rank, b1.WorldSize, b1.ResumeFrom!.Step));
        Assert.Equal((1, 2), (b3.Rank, b3.WorldSize));
        var s = await Run(id).GetStatusAsync();
        Assert.Equal((2, 2, 10, RunState.Rendezvous), (s.Generation, s.WorldSize, s.Step, s.State));
        Assert.Contains(s.Transitions, t => t.State == RunState.Recovering && t.Reason.Contains("worker w2 lost") && t.At == Time.GetUtcNow());
        Assert.Equal(WorkerState.Lost, (await Scheduler.ListWorkersAsync()).Single(w => w.Id == "w2").State);

        // A report from the dead generation is refused; the new one runs.
        Assert.Equal(ReportOutcome.Stale, await Run(id).ReportAsync(Steps(a[2], 11, 12)));
        Assert.Equal(RendezvousOutcome.Ready, (await RendezvousAllAsync(id, [b1, b3])).Outcome);
        Assert.Equal(RunState.Running, (await Run(id).GetStatusAsync()).State);
    }

    [Fact]
    public async Task Below_min_the_run_waits_then_a_new_worker_brings_it_back()
    {
        var (id, a) = await StartAsync(max: 2);
        foreach (var r in a) await Run(id).ReportAsync(Steps(r, 1, 10, checkpointAt: 10));
        await Scheduler.WorkerLostAsync("w1", "killed");
        var waiting = await Run(id).GetStatusAsync();
        Assert.Equal((RunState.Recovering, 1, 2), (waiting.State, waiting.WorldSize, waiting.Generation));
        Assert.Contains("waiting for 2", waiting.Reason);
        Assert.Equal(ReportOutcome.Stale, await Run(id).ReportAsync(Steps(a[1], 11, 11)));

        await RegisterAsync("w4");
        var c2 = await Commands.AssignmentAsync("w2", 3);
        var c4 = await Commands.AssignmentAsync("w4", 3);
        Assert.Equal((0, 1, 10), (c2.Rank, c4.Rank, c4.ResumeFrom!.Step));
        Assert.Equal(RunState.Rendezvous, (await Run(id).GetStatusAsync()).State);
    }

    [Fact]
    public async Task A_stale_death_notice_for_a_restarted_worker_is_ignored()
    {
        await RegisterAsync("w1");
        await Scheduler.WorkerLostAsync("w1", "old process died", "some-older-silo");
        Assert.Equal(WorkerState.Idle, (await Scheduler.ListWorkersAsync()).Single().State);
    }

    [Fact]
    public async Task A_member_missing_at_the_rendezvous_gets_its_assignment_again_until_it_arrives()
    {
        await RegisterAsync("w1");
        await RegisterAsync("w2");
        var id = (await Scheduler.SubmitRunAsync(Spec("resend", 2, 2, 100, 10))).Id;
        var a1 = await Commands.AssignmentAsync("w1", 1);
        var a2 = await Commands.AssignmentAsync("w2", 1);
        // w1 arrives; w2's assignment was lost on the way (one-way messages can be): it never calls.
        Assert.Equal(RendezvousOutcome.Waiting, (await Run(id).RendezvousAsync(new RendezvousRequest("w1", 1, 0, "host:9000"))).Outcome);

        await WhenAsync(() => Commands.Assignments("w2").Count == 2, () => Time.Advance(RunGrain.AssignmentResend));
        Assert.Equal(a2, Commands.Assignments("w2")[1]); // the same generation and rank, not a new generation
        Assert.Single(Commands.Assignments("w1"));        // the member that arrived is left alone
        Assert.Equal(RendezvousOutcome.Ready, (await Run(id).RendezvousAsync(new RendezvousRequest("w2", 1, 1, "host:9001"))).Outcome);

        // Running: no more copies, however long the run takes.
        for (int i = 0; i < 3; i++) Time.Advance(RunGrain.AssignmentResend);
        var s = await Run(id).GetStatusAsync();
        Assert.Equal((RunState.Running, 1), (s.State, s.Generation));
        Assert.Equal(2, Commands.Assignments("w2").Count);
        Assert.Equal(a1, Assert.Single(Commands.Assignments("w1")));
    }

    [Fact]
    public async Task A_member_that_never_comes_to_the_rendezvous_is_dropped_after_the_timeout_and_handed_back()
    {
        await RegisterAsync("w1");
        await RegisterAsync("w2");
        await RegisterAsync("w3");
        var id = (await Scheduler.SubmitRunAsync(Spec("absent", 2, 3, 100, 10))).Id;
        var a = new[] { await Commands.AssignmentAsync("w1", 1), await Commands.AssignmentAsync("w2", 1), await Commands.AssignmentAsync("w3", 1) };
        var start = Time.GetUtcNow();
        // w1 and w2 arrive; w3 answers its membership probes but never comes (wedged), whatever is resent to it.
        foreach (var x in a[..2])
            Assert.Equal(RendezvousOutcome.Waiting, (await Run(id).RendezvousAsync(new RendezvousRequest(x.Members[x.Rank], 1, x.Rank, $"host:{9000 + x.Rank}"))).Outcome);

        await WhenAsync(() => Commands.Releases("w3").Count > 0, () => Time.Advance(RunGrain.AssignmentResend));
        var waited = Time.GetUtcNow() - start;
        Assert.True(waited >= RunGrain.RendezvousTimeout && waited <= RunGrain.RendezvousTimeout + 2 * RunGrain.AssignmentResend, $"dropped after {waited}");
        Assert.True(Commands.Assignments("w3").Count > 100, "copies of the assignment were resent until the timeout");
        const string why = "not at the rendezvous of generation 1 after 10 min";
        Assert.Equal(id, Assert.Single(Commands.Releases("w3"))); // it drops the assignment if it ever reads it

        // The run goes on with the two that came, from where it was (no checkpoint yet: the start).
        var b = new[] { await Commands.AssignmentAsync("w1", 2), await Commands.AssignmentAsync("w2", 2) };
        Assert.All(b, x => Assert.Equal((2, null), (x.WorldSize, x.ResumeFrom)));
        var s = await Run(id).GetStatusAsync();
        Assert.Equal((2, 2, RunState.Rendezvous), (s.Generation, s.WorldSize, s.State));
        Assert.Equal(["w1", "w2"], s.Workers.AsEnumerable());
        Assert.Contains(s.Transitions, t => t.State == RunState.Recovering && t.Reason == $"worker w3 lost ({why})");
        Assert.Equal(RendezvousOutcome.Ready, (await RendezvousAllAsync(id, b)).Outcome);
        // Handed back to the scheduler, idle for other runs; this run does not take it back (a wedged worker would cost
        // it another timeout at every checkpoint).
        var w3 = await RunLifecycleTests.Eventually(() => Scheduler.ListWorkersAsync(), ws => ws.Single(w => w.Id == "w3").State == WorkerState.Idle);
        Assert.Equal((WorkerState.Idle, null), (w3.Single(w => w.Id == "w3").State, w3.Single(w => w.Id == "w3").RunId));
        Assert.Empty((await Run(id).GetStatusAsync()).Joining);
    }

    [Fact]
    public async Task Members_absent_together_leave_in_one_new_generation()
    {
        foreach (var w in (string[])["w1", "w2", "w3", "w4"]) await RegisterAsync(w);
        var id = (await Scheduler.SubmitRunAsync(Spec("two-absent", 2, 4, 100, 10))).Id;
        var a = new List<RunAssignment>();
        foreach (var w in (string[])["w1", "w2", "w3", "w4"]) a.Add(await Commands.AssignmentAsync(w, 1));
        foreach (var x in a.Where(x => x.Members[x.Rank] is "w1" or "w2"))
            Assert.Equal(RendezvousOutcome.Waiting, (await Run(id).RendezvousAsync(new RendezvousRequest(x.Members[x.Rank], 1, x.Rank, $"host:{9000 + x.Rank}"))).Outcome);

        await WhenAsync(() => Commands.Releases("w4").Count > 0, () => Time.Advance(RunGrain.AssignmentResend));
        var s = await Run(id).GetStatusAsync();
        Assert.Equal((2, 2, RunState.Rendezvous), (s.Generation, s.WorldSize, s.State));
        Assert.Equal(["w1", "w2"], s.Workers.AsEnumerable());
        Assert.Contains(s.Transitions, t => t.State == RunState.Recovering && t.Reason == "workers w3, w4 lost (not at the rendezvous of generation 1 after 10 min)");
        Assert.Equal(id, Assert.Single(Commands.Releases("w3")));
        Assert.DoesNotContain(Commands.Assignments("w3"), x => x.Generation == 2);
    }

    [Fact]
    public async Task A_run_whose_activation_is_lost_mid_rendezvous_resends_from_its_stored_state()
    {
        await RegisterAsync("w1");
        await RegisterAsync("w2");
        var id = (await Scheduler.SubmitRunAsync(Spec("lost-activation", 2, 2, 100, 10))).Id;
        var a2 = await Commands.AssignmentAsync("w2", 1);
        await Commands.AssignmentAsync("w1", 1);
        Assert.Equal(RendezvousOutcome.Waiting, (await Run(id).RendezvousAsync(new RendezvousRequest("w1", 1, 0, "host:9000"))).Outcome);

        // The runtime drops the activation (as it does when the silo holding its directory entry dies); the next call
        // (the coordinator's waker makes one every few seconds) activates it from the stored state.
        await Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        Assert.Equal(RunState.Rendezvous, (await Run(id).GetStatusAsync()).State);
        await WhenAsync(() => Commands.Assignments("w2").Count == 2, () => Time.Advance(RunGrain.AssignmentResend));
        // The same assignment, rebuilt from stored state (its spec a copy, not the same object).
        var again = Commands.Assignments("w2")[1];
        Assert.Equal((a2.RunId, a2.Generation, a2.Rank, a2.WorldSize, a2.TotalSteps, a2.ResumeFrom, a2.Spec.Name),
            (again.RunId, again.Generation, again.Rank, again.WorldSize, again.TotalSteps, again.ResumeFrom, again.Spec.Name));
        Assert.Equal(a2.Members, again.Members.AsEnumerable());
        Assert.Equal(RendezvousOutcome.Ready, (await Run(id).RendezvousAsync(new RendezvousRequest("w2", 1, 1, "host:9001"))).Outcome);
    }

    /// <summary>Advances the fake clock until the condition holds (a grain timer fires on the silo's scheduler, so each advance is awaited briefly).</summary>
    static async Task WhenAsync(Func<bool> done, Action advance)
    {
        for (int i = 0; i < 200 && !done(); i++)
        {
            advance();
            await Task.Delay(50);
        }
        Assert.True(done(), "the condition never held");
    }

    async Task<(string, RunAssignment[])> StartAsyncWithThree()
    {
        await RegisterAsync("w1");
        await RegisterAsync("w2");
        var id = (await Scheduler.SubmitRunAsync(Spec("three", 2, 3, 100, 10))).Id;
        var ranks = new[] { await Commands.AssignmentAsync("w1", 1), await Commands.AssignmentAsync("w2", 1), await Commands.AssignmentAsync("w3", 1) };
        Assert.Equal(RendezvousOutcome.Ready, (await RendezvousAllAsync(id, ranks)).Outcome);
        return (id, ranks);
    }
}
