using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;
using Orchestrator.Coordinator.Hosting;

namespace Orchestrator.Tests.Coordinator;

/// <summary>
/// A real embedded coordinator silo (the production builder, real sockets) with a cluster token: clients without it
/// or with another one are refused with the one line that names the fix and change nothing; the right token works;
/// a worker silo with a wrong token cannot register; calls a grain makes from a timer or a call chain carry it.
/// </summary>
public sealed class ClusterTokenTests : IAsyncLifetime
{
    const string Cluster = "tokens";
    readonly ClusterToken token = ClusterToken.Generate();
    readonly int siloPort = FreePort(), gatewayPort = FreePort();
    IHost coordinator = null!;

    IPEndPoint Gateway => new(IPAddress.Loopback, gatewayPort);

    public async Task InitializeAsync()
    {
        coordinator = CoordinatorHost.Build(new SiloSettings
        {
            Name = ClusterNames.CoordinatorPrefix, IsCoordinator = true, ClusterId = Cluster, Token = token,
            SiloPort = siloPort, GatewayPort = gatewayPort,
        }, metricsPort: 0);
        await coordinator.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await coordinator.StopAsync(TimeSpan.FromSeconds(5));
        coordinator.Dispose();
    }

    static RunSpec Spec() => new()
    {
        Name = "t", Trainer = "light", Steps = 10, Workers = new() { Min = 1, Max = 1 },
        Checkpoint = new() { Every = 5, Keep = 1, Path = Path.Combine(Path.GetTempPath(), "orch-token-tests") },
    };

    [Fact]
    public async Task Clients_without_the_token_or_with_another_are_refused_and_change_nothing()
    {
        using var none = await ClusterClientFactory.ConnectAsync(Gateway, null, Cluster, null, CancellationToken.None);
        using var wrong = await ClusterClientFactory.ConnectAsync(Gateway, null, Cluster, ClusterToken.Generate(), CancellationToken.None);
        foreach (var host in new[] { none, wrong })
        {
            var e = await Assert.ThrowsAsync<ClusterTokenRefusedException>(() => host.Client().SubmitRunAsync(Spec()));
            Assert.Equal("cluster token missing or wrong: give --token-file FILE or ORCH_CLUSTER_TOKEN (the coordinator printed where its token is)", e.Message);
            await Assert.ThrowsAsync<ClusterTokenRefusedException>(() => host.Client().GetGrain<ISchedulerGrain>(ISchedulerGrain.Key).ListRunsAsync());
        }

        using var right = await ClusterClientFactory.ConnectAsync(Gateway, null, Cluster, token, CancellationToken.None);
        var scheduler = right.Client().GetGrain<ISchedulerGrain>(ISchedulerGrain.Key);
        Assert.Empty(await scheduler.ListRunsAsync());
        var run = await right.Client().SubmitRunAsync(Spec());
        Assert.Equal([run.Id], (await scheduler.ListRunsAsync()).ToArray());
        // Nor can a refused client read or cancel the run that now exists.
        await Assert.ThrowsAsync<ClusterTokenRefusedException>(() => none.Client().GetRunStatusAsync(run.Id));
        await Assert.ThrowsAsync<ClusterTokenRefusedException>(() => wrong.Client().CancelRunAsync(run.Id));
        Assert.Equal(run.State, (await right.Client().GetRunStatusAsync(run.Id)).State);
    }

    [Fact]
    public async Task Calls_from_a_call_chain_and_from_a_grain_timer_carry_the_token()
    {
        using var right = await ClusterClientFactory.ConnectAsync(Gateway, null, Cluster, token, CancellationToken.None);
        var a = right.Client().GetGrain<ITokenProbeGrain>("a");
        Assert.Equal("b", await a.RelayAsync("b")); // b is activated inside a's call chain
        await a.StartTickingAsync("c");
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (await a.TicksAsync() < 3) await Task.Delay(50, deadline.Token);

        // A grain activated by a tokened chain still refuses a call without the token.
        using var none = await ClusterClientFactory.ConnectAsync(Gateway, null, Cluster, null, CancellationToken.None);
        await Assert.ThrowsAsync<ClusterTokenRefusedException>(() => none.Client().GetGrain<ITokenProbeGrain>("b").PingAsync());
        await Assert.ThrowsAsync<ClusterTokenRefusedException>(() => none.Client().GetGrain<ITokenProbeGrain>("c").PingAsync());
        // Nor does a plain Orleans client, whose calls carry no RequestContext at all.
        var builder = Host.CreateApplicationBuilder([]);
        builder.UseOrleansClient(c =>
        {
            c.UseStaticClustering(Gateway);
            c.Configure<Orleans.Configuration.ClusterOptions>(o => { o.ClusterId = Cluster; o.ServiceId = ClusterNames.ServiceId; });
        });
        using var plain = builder.Build();
        await plain.StartAsync();
        await Assert.ThrowsAsync<ClusterTokenRefusedException>(() => plain.Client().GetGrain<ITokenProbeGrain>("b").PingAsync());
        await Assert.ThrowsAsync<ClusterTokenRefusedException>(() => plain.Client().GetGrain<ISchedulerGrain>(ISchedulerGrain.Key).ListRunsAsync());
        await plain.StopAsync();
    }

    [Fact]
    public async Task A_worker_silo_with_a_wrong_token_cannot_register()
    {
        var builder = Host.CreateApplicationBuilder([]);
        CoordinatorHost.ConfigureLogging(builder.Logging);
        builder.UseOrleans(silo => silo.Configure(new SiloSettings
        {
            Name = "intruder", IsCoordinator = false, ClusterId = Cluster, Token = ClusterToken.Generate(),
            SiloPort = FreePort(), GatewayPort = FreePort(), Primary = new IPEndPoint(IPAddress.Loopback, siloPort),
        }));
        using var intruder = builder.Build();
        await intruder.StartAsync();
        try
        {
            var grains = intruder.Services.GetRequiredService<IGrainFactory>();
            var info = new WorkerInfo { Id = "intruder", Device = "cpu", DeviceKind = "cpu", ProtocolVersion = ProtocolVersion.Current, SiloAddress = "x" };
            var e = await Assert.ThrowsAsync<ClusterTokenRefusedException>(() => grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Key).RegisterWorkerAsync(info));
            Assert.Equal(ClusterTokenRefusedException.Fix, e.Message);
        }
        finally { await intruder.StopAsync(TimeSpan.FromSeconds(5)); }

        using var right = await ClusterClientFactory.ConnectAsync(Gateway, null, Cluster, token, CancellationToken.None);
        Assert.Empty(await right.Client().GetGrain<ISchedulerGrain>(ISchedulerGrain.Key).ListWorkersAsync());
    }

    static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
