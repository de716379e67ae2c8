using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Workers;
using Orchestrator.Coordinator.Placement;
using Orchestrator.Coordinator.Telemetry;
using Orleans.Configuration;
using Orleans.Persistence;
using Orleans.Serialization;
using Orleans.Storage;
using StackExchange.Redis;

namespace Orchestrator.Coordinator.Hosting;

/// <summary>How a process joins the cluster: as the coordinator, or as a worker.</summary>
public sealed record SiloSettings
{
    /// <summary>Silo name: "coordinator" for coordinators, the worker id for workers (placement relies on it).</summary>
    public required string Name { get; init; }
    public required bool IsCoordinator { get; init; }
    /// <summary>The cluster's shared token: this silo sends it on its calls and refuses calls without it (required:
    /// a worker sets it when it joins, having read its token file then).</summary>
    public ClusterToken? Token { get; init; }
    /// <summary>The cluster's id: processes (and consoles) of another cluster are refused when they connect.</summary>
    public string ClusterId { get; init; } = ClusterNames.ClusterId;
    /// <summary>Embedded coordinator: the folder its grain state is kept in across restarts; null keeps it in memory.</summary>
    public string? StateFolder { get; init; }
    /// <summary>Redis connection string: cluster mode (Redis membership and grain state). Null: embedded mode.</summary>
    public string? Redis { get; init; }
    public int SiloPort { get; init; } = ClusterNames.DefaultSiloPort;
    public int GatewayPort { get; init; } = ClusterNames.DefaultGatewayPort;
    /// <summary>Embedded mode: the coordinator's silo endpoint (the membership seed). Null on the coordinator itself.</summary>
    public IPEndPoint? Primary { get; init; }
    /// <summary>Address other processes reach this one at (cluster mode); loopback by default.</summary>
    public IPAddress Advertise { get; init; } = IPAddress.Loopback;
    /// <summary>Failure detection: probe timeout and missed probes before a silo is declared dead (1 vote suffices).</summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(2);
    public int MissedProbes { get; init; } = 3;
}

/// <summary>Silo configuration shared by coordinator and worker processes.</summary>
public static class SiloSetup
{
    public static ISiloBuilder Configure(this ISiloBuilder silo, SiloSettings s)
    {
        if (s.Redis is { } redis)
        {
            silo.UseRedisClustering(redis);
            silo.Configure<ClusterOptions>(o => { o.ClusterId = s.ClusterId; o.ServiceId = ClusterNames.ServiceId; });
            // Listen where we say we are (the banner prints it): the advertised address only, never every interface.
            silo.ConfigureEndpoints(s.Advertise, s.SiloPort, s.GatewayPort, listenOnAnyHostAddress: false);
            silo.AddRedisGrainStorage(ClusterNames.Storage, o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis));
            // Orleans binary (versioned by [Id]s) rather than the JSON default, which cannot read immutable collections back.
            silo.Services.AddOptions<RedisStorageOptions>(ClusterNames.Storage)
                .Configure<Serializer>((o, serializer) => o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer));
            // Reminders (kept in Redis) wake grains that must go on after a coordinator restart without waiting for a
            // call: a running sweep keeps one. Every silo runs the reminder service, since each owns a range of them.
            silo.AddReminders();
            silo.UseRedisReminderService(o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis));
        }
        else
        {
            silo.UseLocalhostClustering(s.SiloPort, s.GatewayPort, s.Primary, ClusterNames.ServiceId, s.ClusterId);
            silo.Services.AddSingleton(new LocalGrainStorageOptions(s.StateFolder));
            silo.Services.AddKeyedSingleton<IGrainStorage, LocalGrainStorage>(ClusterNames.Storage);
        }
        silo.Configure<SiloOptions>(o => o.SiloName = s.Name);
        // A killed worker must be noticed in seconds, not the default ~12 s. 1 s x 2 probes notice it in about
        // 2 s; on a loaded 2-core machine with CPU training, 1 s probes declared live silos dead (and a silo told
        // it is dead must stop), so the default is 2 s x 3 (~6 s); `--probe-timeout-ms 1000` gives ~2 s.
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = s.ProbeTimeout;
            o.NumMissedProbesLimit = s.MissedProbes;
            o.NumVotesForDeathDeclaration = 1;
        });
        silo.AddPlacement();
        silo.AddClusterToken(s.Token ?? throw new InvalidOperationException($"silo {s.Name}: no cluster token (SiloSettings.Token)"));
        silo.Services.TryAddSingleton(TimeProvider.System);
        silo.Services.TryAddSingleton<CoordinatorMetrics>();
        if (s.IsCoordinator)
        {
            silo.Services.AddHostedService<MembershipWatcher>();
            silo.Services.AddHostedService<ControlPlaneWaker>();
        }
        return silo;
    }

    /// <summary>The two placement directors every silo needs (placement is decided on the calling silo).</summary>
    public static ISiloBuilder AddPlacement(this ISiloBuilder silo, bool allowAnySiloForControlPlane = false)
    {
        silo.AddPlacementDirector<WorkerPlacementStrategy, WorkerPlacementDirector>();
        silo.AddPlacementDirector<ControlPlanePlacementStrategy, ControlPlanePlacementDirector>();
        silo.Services.Configure<ControlPlanePlacementOptions>(o => o.AllowAnySilo |= allowAnySiloForControlPlane);
        return silo;
    }
}
