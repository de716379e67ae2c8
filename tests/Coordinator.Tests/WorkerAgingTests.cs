using Orchestrator.Contracts.Workers;

namespace Orchestrator.Tests.Coordinator;

/// <summary>
/// Lost workers age out of the default listing (`orch workers list`, the dashboard) once lost for longer than
/// <see cref="WorkerAging.LostShownFor"/> by the coordinator's clock (fake here), and stay in the full one (`--all`)
/// with when they were lost; a worker that registers again is live again; the registry keeps a bounded number of lost ones.
/// </summary>
public sealed class WorkerAgingTests : ClusterTest
{
    [Fact]
    public async Task A_lost_worker_leaves_the_default_listing_after_the_window_and_stays_in_the_full_one()
    {
        await RegisterAsync("w1");
        await RegisterAsync("w2");
        Time.Advance(TimeSpan.FromMinutes(1));
        var lostAt = Time.GetUtcNow();
        await Scheduler.WorkerLostAsync("w2", "declared dead", "silo-w2");

        var recent = await Scheduler.ListRecentWorkersAsync();
        Assert.Equal([("w1", WorkerState.Idle, (DateTimeOffset?)null), ("w2", WorkerState.Lost, lostAt)], recent.Select(w => (w.Id, w.State, w.LostAt)));

        // Exactly at the window's end it is still shown; a second later only the full listing has it.
        Time.Advance(WorkerAging.LostShownFor);
        Assert.Equal(["w1", "w2"], (await Scheduler.ListRecentWorkersAsync()).Select(w => w.Id));
        Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(["w1"], (await Scheduler.ListRecentWorkersAsync()).Select(w => w.Id));
        var all = await Scheduler.ListWorkersAsync();
        Assert.Equal([("w1", WorkerState.Idle, (DateTimeOffset?)null, (string?)null), ("w2", WorkerState.Lost, lostAt, "declared dead")],
            all.Select(w => (w.Id, w.State, w.LostAt, w.Reason)));

        // Back: registered again, live, no longer lost.
        await RegisterAsync("w2");
        Assert.Equal([("w1", WorkerState.Idle, (DateTimeOffset?)null), ("w2", WorkerState.Idle, null)],
            (await Scheduler.ListRecentWorkersAsync()).Select(w => (w.Id, w.State, w.LostAt)));
    }

    [Fact]
    public async Task The_registry_forgets_the_longest_lost_past_its_bound()
    {
        int n = WorkerAging.MaxLostKept + 2;
        for (int i = 0; i < n; i++)
        {
            var id = $"w{i:D4}";
            await RegisterAsync(id);
            Time.Advance(TimeSpan.FromSeconds(1));
            await Scheduler.WorkerLostAsync(id, "declared dead", "silo-" + id);
        }
        var all = await Scheduler.ListWorkersAsync();
        Assert.Equal(WorkerAging.MaxLostKept, all.Length);
        Assert.DoesNotContain(all, w => w.Id is "w0000" or "w0001");
        Assert.Contains(all, w => w.Id == $"w{n - 1:D4}");
    }
}
