using System.Collections.Immutable;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;
using Orchestrator.Coordinator.Hosting;
using Orchestrator.Coordinator.Telemetry;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Orchestrator.Tests.Coordinator;

/// <summary>
/// A fresh one-silo in-process cluster per test class instance (xunit makes one per test): the coordinator's
/// grains and storage, fake workers, and fake time.
/// </summary>
public abstract class ClusterTest : IAsyncLifetime
{
    protected readonly FakeTimeProvider Time = new(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
    protected readonly CommandLog Commands = new();
    protected InProcessTestCluster Cluster = null!;
    protected IClusterClient Client => Cluster.Client;
    protected ISchedulerGrain Scheduler => Client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Key);

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddPlacement(allowAnySiloForControlPlane: true);
            silo.Services.AddKeyedSingleton<IGrainStorage, LocalGrainStorage>(ClusterNames.Storage);
            silo.Services.AddSingleton<TimeProvider>(Time);
            silo.Services.AddSingleton<CoordinatorMetrics>();
            silo.Services.AddSingleton(Commands);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    protected static RunSpec Spec(string name = "t", int min = 2, int max = 3, int steps = 100, int every = 10) => new()
    {
        Name = name, Trainer = "light", Steps = steps, Workers = new() { Min = min, Max = max },
        Checkpoint = new() { Every = every, Keep = 2, Path = "/tmp/orch-tests" },
    };

    protected Task<WorkerInfo> RegisterAsync(string id, int version = ProtocolVersion.Current) =>
        Scheduler.RegisterWorkerAsync(new WorkerInfo { Id = id, Device = "cpu", DeviceKind = "cpu", ProtocolVersion = version, SiloAddress = "silo-" + id });

    protected IRunGrain Run(string id) => Client.GetGrain<IRunGrain>(id);

    /// <summary>Every rank of the assignments posts its bootstrap; returns the last reply (Ready when all arrived).</summary>
    protected async Task<RendezvousReply> RendezvousAllAsync(string runId, IReadOnlyList<RunAssignment> ranks)
    {
        RendezvousReply reply = null!;
        foreach (var a in ranks)
            reply = await Run(runId).RendezvousAsync(new RendezvousRequest(a.Members[a.Rank], a.Generation, a.Rank, $"host:{9000 + a.Rank}"));
        return reply;
    }

    protected static ProgressReport Steps(RunAssignment a, int from, int to, int? checkpointAt = null, bool finished = false) => new()
    {
        WorkerId = a.Members[a.Rank], Generation = a.Generation, Rank = a.Rank,
        Steps = [.. Enumerable.Range(from, to - from + 1).Select(s => new MetricPoint(s, 5.0 / s, 1000, null, DateTimeOffset.UnixEpoch))],
        CheckpointsWritten = checkpointAt is { } c ? [new CheckpointRef(c, $"/tmp/orch-tests/ck-{c}-e{a.Generation}", a.Generation, a.WorldSize, DateTimeOffset.UnixEpoch)] : ImmutableArray<CheckpointRef>.Empty,
        Finished = finished,
    };
}
