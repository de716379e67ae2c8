using Orchestrator.Contracts.Runs;
using Orchestrator.Experiments.Sweeps;
using Orleans.TestingHost;

namespace Orchestrator.Tests.Experiments.Sweeps;

/// <summary>
/// Watching a run or a sweep through a coordinator that stops answering: the watch asks again for its grace period,
/// then ends with <see cref="CoordinatorGoneException"/> naming what it watched (the CLI prints that message instead of
/// a connection error). The cluster's only silo is stopped under a client that stays up.
/// </summary>
public sealed class WatchPatienceTests
{
    [Fact]
    public async Task A_watch_through_a_stopped_coordinator_ends_saying_it_is_gone()
    {
        var cluster = new InProcessTestClusterBuilder(1).Build();
        await cluster.DeployAsync();
        try
        {
            var client = cluster.Client;
            await cluster.StopSiloAsync(cluster.Silos[0]);
            var grace = TimeSpan.FromSeconds(1);

            var sweep = await Assert.ThrowsAsync<CoordinatorGoneException>(async () =>
            {
                await foreach (var _ in client.WatchSweepAsync("sw-1", TimeSpan.FromMilliseconds(100), reconnectFor: grace)) { }
            });
            Assert.StartsWith("the coordinator stopped answering while watching sweep sw-1 (no answer for ", sweep.Message);
            Assert.EndsWith("`orch sweep status sw-1` once it is back (the sweep goes on without the watch; an --ephemeral coordinator has no record of it after a restart)", sweep.Message);

            var run = await Assert.ThrowsAsync<CoordinatorGoneException>(async () =>
            {
                await foreach (var _ in client.WatchRunAsync("r-1", TimeSpan.FromMilliseconds(100), reconnectFor: grace)) { }
            });
            Assert.StartsWith("the coordinator stopped answering while watching run r-1 (no answer for ", run.Message);
        }
        finally { await cluster.DisposeAsync(); }
    }
}
