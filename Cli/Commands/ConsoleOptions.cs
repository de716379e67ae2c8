using System.CommandLine;
using System.Net;
using Microsoft.Extensions.Hosting;
using Orchestrator.Cli.Hosting;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Coordinator.Hosting;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// Options every console command shares, and the connection they make. Which cluster, first match wins:
/// --coordinator (or $ORCH_COORDINATOR), --redis (or $ORCH_REDIS), the `orch local` cluster named by --cluster (or
/// $ORCH_CLUSTER), the one `orch local` cluster running for this user, the `orch coordinator` default 127.0.0.1:30000.
/// Invariant: a console connects only to the cluster it asked for: --cluster, else the name in the connection file
/// that led to the address (or that has the address given), else `orch coordinator`'s default "orch". A gateway
/// serving another cluster refuses the connection and the command fails at once with one line naming the address.
/// </summary>
static class ConsoleOptions
{
    public static readonly Option<bool> Json = new("--json") { Description = "Print one JSON document" };
    public static readonly Option<string?> Coordinator = new("--coordinator")
    {
        Description = "The coordinator's gateway HOST:PORT; default $ORCH_COORDINATOR, else the running `orch local` cluster, else 127.0.0.1:30000",
    };
    public static readonly Option<string?> Cluster = new("--cluster")
    {
        Description = "The cluster's name: picks that `orch local` cluster, and refuses a coordinator serving another; default $ORCH_CLUSTER, else the name in the connection file, else orch",
    };
    public static readonly Option<string?> Redis = new("--redis") { Description = "Cluster mode: find the gateways through Redis; default $ORCH_REDIS" };

    /// <summary>`--token-file`: every console command has it (<see cref="WithTokenFlag"/> adds it where --coordinator is).</summary>
    public static Option<string?> TokenFile => ClusterTokens.TokenFile;

    public static async Task<IHost> ConnectAsync(ParseResult pr, CancellationToken ct)
    {
        var (gateway, redis, clusterId) = Resolve(pr);
        var local = redis is null ? LocalClusters.Live(clusterId) is { } e && e.Gateway == gateway.ToString() ? e : null : null;
        var token = ClusterTokens.ForConsole(pr.GetValue(TokenFile), clusterId, local?.TokenFile);
        return await ClusterClientFactory.ConnectAsync(gateway, redis, clusterId, token, ct);
    }

    /// <summary>Adds --token-file to every command (at any depth) that connects as a console, i.e. has --coordinator.</summary>
    public static IReadOnlyList<Command> WithTokenFlag(IEnumerable<Command> commands)
    {
        var list = commands.ToList();
        foreach (var c in list) AddTokenFlag(c);
        return list;
    }

    static void AddTokenFlag(Command c)
    {
        if (c.Options.Contains(Coordinator) && !c.Options.Contains(TokenFile)) c.Options.Add(TokenFile);
        foreach (var sub in c.Subcommands) AddTokenFlag(sub);
    }

    /// <summary>The gateway, Redis and cluster id to ask for.</summary>
    internal static (IPEndPoint Gateway, string? Redis, string ClusterId) Resolve(ParseResult pr)
    {
        var named = pr.GetValue(Cluster) ?? NonEmpty(Environment.GetEnvironmentVariable("ORCH_CLUSTER"));
        if (named is not null) LocalClusters.RequireValidId(named, pr.GetValue(Cluster) is null ? "$ORCH_CLUSTER" : "--cluster");
        var redis = pr.GetValue(Redis) ?? NonEmpty(Environment.GetEnvironmentVariable("ORCH_REDIS"));
        var address = pr.GetValue(Coordinator) ?? NonEmpty(Environment.GetEnvironmentVariable("ORCH_COORDINATOR"));
        var flag = pr.GetValue(Coordinator) is null ? "$ORCH_COORDINATOR" : "--coordinator";
        if (address is not null)
        {
            var gateway = ClusterEndpoint.Parse(address, ClusterNames.DefaultGatewayPort, flag);
            return (gateway, redis, named ?? LocalClusters.AllLive().FirstOrDefault(e => e.Gateway == gateway.ToString())?.ClusterId ?? ClusterNames.ClusterId);
        }
        var fallback = new IPEndPoint(IPAddress.Loopback, ClusterNames.DefaultGatewayPort);
        if (redis is not null) return (fallback, redis, named ?? ClusterNames.ClusterId);
        var live = LocalClusters.AllLive();
        if (named is not null)
        {
            var entry = live.FirstOrDefault(e => e.ClusterId == named)
                ?? throw new BadInputException($"no local cluster named '{named}' is running ({(live.Count == 0 ? "none is" : "running: " + Running(live))}); start it with `orch local --name {named}`, or pass --coordinator HOST:PORT");
            return (ClusterEndpoint.Parse(entry.Gateway, ClusterNames.DefaultGatewayPort, "the connection file"), null, named);
        }
        return live.Count switch
        {
            0 => (fallback, null, ClusterNames.ClusterId),
            1 => (ClusterEndpoint.Parse(live[0].Gateway, ClusterNames.DefaultGatewayPort, "the connection file"), null, live[0].ClusterId),
            _ => throw new BadInputException($"several local clusters are running ({Running(live)}): pass --cluster NAME"),
        };
    }

    static string Running(IReadOnlyList<LocalClusters.Entry> live) =>
        string.Join(", ", live.Select(e => $"{e.ClusterId} at {e.Gateway}"));

    static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}
