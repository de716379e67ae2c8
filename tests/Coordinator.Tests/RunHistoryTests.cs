using Orchestrator.Contracts.Runs;

namespace Orchestrator.Tests.Coordinator;

/// <summary>
/// What the dashboard draws from a run's status: each reported step's token count and world size (counted per generation,
/// resumed from the checkpoint's count) and the membership/checkpoint events, capped so the state stays bounded.
/// </summary>
public sealed class RunHistoryTests : ClusterTest
{
    async Task<(string Id, RunAssignment[] Ranks)> StartWithThreeAsync(int every = 10, int steps = 100)
    {
        foreach (var w in new[] { "w1", "w2", "w3" }) await RegisterAsync(w);
        var id = (await Scheduler.SubmitRunAsync(Spec("hist", 2, 3, steps, every))).Id;
        var ranks = new[] { await Commands.AssignmentAsync("w1", 1), await Commands.AssignmentAsync("w2", 1), await Commands.AssignmentAsync("w3", 1) };
        Assert.Equal(RendezvousOutcome.Ready, (await RendezvousAllAsync(id, ranks)).Outcome);
        return (id, ranks);
    }

    [Fact]
    public async Task Steps_carry_tokens_and_world_size_and_a_lost_worker_is_an_event_between_two_generations()
    {
        var (id, a) = await StartWithThreeAsync();
        foreach (var r in a) await Run(id).ReportAsync(Steps(r, 1, 10, checkpointAt: 10));
        await Run(id).ReportAsync(Steps(a[0], 11, 14));
        Time.Advance(TimeSpan.FromSeconds(5));
        await Scheduler.WorkerLostAsync("w2", "declared dead by failure detection", "silo-w2");
        var b = new[] { await Commands.AssignmentAsync("w1", 2), await Commands.AssignmentAsync("w3", 2) };
        await RendezvousAllAsync(id, b);
        await Run(id).ReportAsync(Steps(b[0], 11, 12));

        var s = await Run(id).GetStatusAsync();
        long perRank = 16L * 128; // the spec's batch x block size, grad_accum 1
        Assert.Equal(10 * 3 * perRank, s.History.Single(p => p.Step == 10).Tokens);
        Assert.Equal(3, s.History.Single(p => p.Step == 10).WorldSize);
        // Steps 11..14 of generation 1 were lost with w2; generation 2 counts on from the checkpoint's tokens at 2 ranks.
        var redone = s.History.Where(p => p.Step == 11).ToList();
        Assert.Equal([10 * 3 * perRank + 3 * perRank, 10 * 3 * perRank + 2 * perRank], redone.Select(p => p.Tokens!.Value));
        Assert.Equal([3, 2], redone.Select(p => p.WorldSize));

        Assert.Equal(
            [(RunEventKind.Generation, 0, 1, 3), (RunEventKind.Checkpoint, 10, 1, 3), (RunEventKind.WorkerLost, 14, 1, 2), (RunEventKind.Generation, 10, 2, 2)],
            s.Events.Select(e => (e.Kind, e.Step, e.Generation, e.WorldSize)));
        var lost = s.Events.Single(e => e.Kind == RunEventKind.WorkerLost);
        Assert.Contains("worker w2 lost", lost.Detail);
        Assert.Equal(Time.GetUtcNow(), lost.At);
    }

    [Fact]
    public async Task Thinning_the_history_keeps_every_validation_loss()
    {
        var (id, a) = await StartWithThreeAsync(every: 1000, steps: 3000);
        for (int from = 1; from <= 3000; from += 10)
            await Run(id).ReportAsync(Steps(a[0], from, from + 9) with
            {
                Steps = [.. Enumerable.Range(from, 10).Select(s => new MetricPoint(s, 5.0 / s, 1000, null, DateTimeOffset.UnixEpoch, ValLoss: s % 100 == 0 ? 4.0 : null))],
            });

        var s = await Run(id).GetStatusAsync();
        Assert.InRange(s.History.Length, 256, 512); // thinned, and bounded
        Assert.Equal(Enumerable.Range(1, 30).Select(k => 100 * k), s.History.Where(p => p.ValLoss is not null).Select(p => p.Step));
        Assert.Equal(3000, s.History[^1].Step);
        Assert.Equal(Enumerable.Range(2745, 256), s.History.TakeLast(256).Select(p => p.Step)); // the newest reports stay dense
    }

    [Fact]
    public async Task Past_the_cap_checkpoint_events_go_first_and_membership_events_stay()
    {
        var (id, a) = await StartWithThreeAsync(every: 1, steps: 400);
        for (int step = 1; step <= 300; step++)
            foreach (var r in a) await Run(id).ReportAsync(Steps(r, step, step, checkpointAt: step));

        var s = await Run(id).GetStatusAsync();
        Assert.Equal(256, s.Events.Length);
        Assert.Equal(RunEventKind.Generation, s.Events[0].Kind);
        Assert.Equal(Enumerable.Range(46, 255), s.Events.Skip(1).Select(e => e.Step));
        Assert.Equal(300, s.Step);
    }
}
