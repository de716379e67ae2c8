using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;

namespace Orchestrator.Tests.Coordinator;

/// <summary>
/// A run's global batch through world-size changes: only world sizes that divide it are used (at submission, when
/// workers are offered, when one is lost), the workers' grad_accum keeps it, and the tokens trained count each step
/// at the batch that trained it.
/// </summary>
public sealed class GlobalBatchTests : ClusterTest
{
    /// <summary>global 64 of micro-batch 8: grad_accum x world = 8, so worlds 1, 2, 4, 8 can keep it; 3 cannot.</summary>
    static RunSpec Global(string name, int min, int max, int global = 64) =>
        Spec(name, min, max, steps: 100, every: 10) with { Batch = 8, GlobalBatch = global, Model = new ModelShape { BlockSize = 128 } };

    async Task<RunAssignment[]> AssignedAsync(int generation, params string[] workers)
    {
        var all = new RunAssignment[workers.Length];
        for (int i = 0; i < workers.Length; i++) all[i] = await Commands.AssignmentAsync(workers[i], generation);
        return all;
    }

    [Fact]
    public async Task World_sizes_that_cannot_divide_the_global_batch_are_refused_at_submit_with_those_that_can()
    {
        await RegisterAsync("w1");
        var e = await Assert.ThrowsAsync<InvalidRunSpecException>(() => Scheduler.SubmitRunAsync(Global("odd", 2, 3)));
        Assert.Contains("global_batch: 64 = batch 8 x grad_accum x workers cannot be kept at 3 workers; world sizes that divide it: 1, 2, 4, 8", e.Message);
        var both = await Assert.ThrowsAsync<InvalidRunSpecException>(() => Scheduler.SubmitRunAsync(Global("both", 2, 4) with { GradAccum = 2 }));
        Assert.Contains("global_batch and grad_accum: give one of them", both.Message);
        var ragged = await Assert.ThrowsAsync<InvalidRunSpecException>(() => Scheduler.SubmitRunAsync(Global("ragged", 1, 1, global: 60)));
        Assert.Contains("global_batch: 60 is not a multiple of batch 8", ragged.Message);
    }

    [Fact]
    public async Task Offered_workers_are_taken_only_up_to_a_world_that_keeps_the_global_batch()
    {
        foreach (var w in new[] { "w1", "w2", "w3" }) await RegisterAsync(w);
        var id = (await Scheduler.SubmitRunAsync(Global("offer", 2, 4))).Id;
        var a1 = await Commands.AssignmentAsync("w1", 1);
        Assert.Equal(2, a1.WorldSize);
        Assert.Equal(4, WorldBatch.GradAccumAt(a1.Spec, a1.WorldSize));
        Assert.Empty(Commands.Assignments("w3"));
        Assert.Equal(WorkerState.Idle, (await Scheduler.ListWorkersAsync()).Single(w => w.Id == "w3").State);

        // A fourth worker makes 4 possible: both spares join at the next checkpoint.
        await RegisterAsync("w4");
        var joining = await RunLifecycleTests.Eventually(() => Run(id).GetStatusAsync(), s => s.Joining.Length == 2);
        Assert.Equal(["w3", "w4"], joining.Joining.Order());
    }

    [Fact]
    public async Task A_lost_worker_shrinks_the_world_to_one_that_keeps_the_global_batch_and_tokens_count_each_step_once()
    {
        foreach (var w in new[] { "w1", "w2", "w3", "w4" }) await RegisterAsync(w);
        var id = (await Scheduler.SubmitRunAsync(Global("shrink", 2, 4))).Id;
        var a = await AssignedAsync(1, "w1", "w2", "w3", "w4");
        Assert.All(a, x => Assert.Equal((4, 2), (x.WorldSize, WorldBatch.GradAccumAt(x.Spec, x.WorldSize))));
        await RendezvousAllAsync(id, a);
        foreach (var r in a) await Run(id).ReportAsync(Steps(r, 1, 10, checkpointAt: 10));
        await Run(id).ReportAsync(Steps(a[0], 11, 13)); // thrown away by the recovery below
        const long perStep = 64 * 128;
        Assert.Equal(13 * perStep, (await Run(id).GetStatusAsync()).TokensTrained);

        // 3 survivors cannot keep 64 (8 / 3): the run goes on with 2 and hands the third back, idle.
        await Scheduler.WorkerLostAsync("w4", "declared dead by failure detection", "silo-w4");
        var b = new[] { await Commands.AssignmentAsync("w1", 2), await Commands.AssignmentAsync("w2", 2) };
        Assert.All(b, x => Assert.Equal((2, 4, 10), (x.WorldSize, WorldBatch.GradAccumAt(x.Spec, x.WorldSize), x.ResumeFrom!.Step)));
        await Commands.ReleasedAsync("w3");
        Assert.DoesNotContain(Commands.Assignments("w3"), x => x.Generation == 2);
        var s = await Run(id).GetStatusAsync();
        Assert.Equal((2, 2, 10 * perStep), (s.Generation, s.WorldSize, s.TokensTrained));
        Assert.Contains("released w3", s.Reason);
        Assert.Equal(WorkerState.Idle, (await Scheduler.ListWorkersAsync()).Single(w => w.Id == "w3").State);

        await RendezvousAllAsync(id, b);
        await Run(id).ReportAsync(Steps(b[0], 11, 100, finished: true));
        await Run(id).ReportAsync(Steps(b[1], 11, 100, finished: true) with { Steps = [] });
        var done = await Run(id).GetStatusAsync();
        Assert.Equal((RunState.Completed, 100 * perStep), (done.State, done.TokensTrained));
    }

    [Fact]
    public async Task Without_a_global_batch_tokens_follow_the_world_that_trained_each_step()
    {
        foreach (var w in new[] { "w1", "w2", "w3" }) await RegisterAsync(w);
        var id = (await Scheduler.SubmitRunAsync(Spec("per-rank", 2, 3) with { Batch = 8, Model = new ModelShape { BlockSize = 128 } })).Id;
        var a = await AssignedAsync(1, "w1", "w2", "w3");
        await RendezvousAllAsync(id, a);
        foreach (var r in a) await Run(id).ReportAsync(Steps(r, 1, 10, checkpointAt: 10));
        await Scheduler.WorkerLostAsync("w3", "killed", "silo-w3");
        var b = new[] { await Commands.AssignmentAsync("w1", 2), await Commands.AssignmentAsync("w2", 2) };
        await RendezvousAllAsync(id, b);
        await Run(id).ReportAsync(Steps(b[0], 11, 15));
        Assert.Equal(10L * 8 * 3 * 128 + 5L * 8 * 2 * 128, (await Run(id).GetStatusAsync()).TokensTrained);
    }
}
