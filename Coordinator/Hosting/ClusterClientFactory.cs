using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Cluster;
using Orleans.Configuration;

namespace Orchestrator.Coordinator.Hosting;

/// <summary>The coordinator could not be reached: one line with the address, no stack trace.</summary>
public sealed class CoordinatorUnreachableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The gateway serves another cluster than the one asked for (<see cref="Serves"/>: its id, when known).</summary>
public sealed class ClusterMismatchException(string message, string asked, string? serves) : Exception(message)
{
    public string Asked { get; } = asked;
    public string? Serves { get; } = serves;
}

/// <summary>Connects a console (or any tool) to the cluster gateway.</summary>
public static class ClusterClientFactory
{
    /// <summary>
    /// Connects to the gateway at <paramref name="gateway"/> (embedded mode) or through Redis membership, to the
    /// cluster <paramref name="clusterId"/>: a gateway serving another cluster is refused with
    /// <see cref="ClusterMismatchException"/> (Orleans checks the id in the connection preamble). Throws
    /// <see cref="CoordinatorUnreachableException"/> naming the address when nobody answers. Every call carries
    /// <paramref name="token"/>; without the cluster's token each call fails with <see cref="ClusterTokenRefusedException"/>.
    /// </summary>
    public static async Task<IHost> ConnectAsync(IPEndPoint gateway, string? redis, string clusterId, ClusterToken? token, CancellationToken ct)
    {
        // Orleans' client retries a refused gateway for its whole start timeout; one TCP connect says it in milliseconds.
        if (redis is null && await GatewayProblemAsync(gateway, ct) is { } problem)
            throw new CoordinatorUnreachableException(
                $"cannot reach the coordinator at {gateway} ({problem}); start it with `orch coordinator` or `orch local`, or pass --coordinator HOST:PORT");
        var builder = Host.CreateApplicationBuilder([]);
        builder.Logging.ClearProviders();
        var spy = new ClusterIdSpy(clusterId);
        builder.Logging.AddProvider(spy);
        builder.UseOrleansClient(c =>
        {
            if (redis is not null) c.UseRedisClustering(redis);
            else c.UseStaticClustering(gateway);
            c.Configure<ClusterOptions>(o => { o.ClusterId = clusterId; o.ServiceId = ClusterNames.ServiceId; });
            c.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(30));
            c.AddClusterToken(token);
        });
        var host = builder.Build();
        var where = redis is not null ? $"the cluster registered in Redis at {redis}" : $"the coordinator at {gateway}";
        try
        {
            var start = host.StartAsync(ct).WaitAsync(TimeSpan.FromSeconds(15), ct);
            if (await Task.WhenAny(start, spy.Refused) == spy.Refused)
            {
                _ = start.ContinueWith(t => t.Exception, TaskScheduler.Default); // observed; the host is disposed below
                var serves = await spy.Refused;
                throw new ClusterMismatchException(redis is not null
                    ? $"the cluster registered in Redis at {redis} refused cluster id '{clusterId}': it serves {(serves is null ? "another" : $"'{serves}'")} (pass the --cluster its coordinator was started with)"
                    : $"the coordinator at {gateway} refused cluster id '{clusterId}': it serves {(serves is null ? "another cluster" : $"cluster '{serves}'")} (pass the --cluster it was started with, or the address of cluster '{clusterId}')",
                    clusterId, serves);
            }
            await start;
            return host;
        }
        catch (ClusterMismatchException)
        {
            host.Dispose();
            throw;
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            host.Dispose();
            throw new CoordinatorUnreachableException(
                $"cannot reach {where} ({e.GetBaseException().Message.TrimEnd('.')}); start it with `orch coordinator` or `orch local`, or pass --coordinator HOST:PORT", e);
        }
    }

    /// <summary>Null when something accepts a TCP connection at the gateway within 2.5 s; otherwise what went wrong.</summary>
    static async Task<string?> GatewayProblemAsync(IPEndPoint gateway, CancellationToken ct)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        try
        {
            await tcp.ConnectAsync(gateway, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(2.5), ct);
            return null;
        }
        catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionRefused)
        {
            return "nothing listens there: connection refused";
        }
        catch (System.Net.Sockets.SocketException e) { return e.Message.TrimEnd('.'); }
        catch (TimeoutException) { return "no answer to a connection within 2.5 s"; }
    }

    public static IClusterClient Client(this IHost host) => host.Services.GetRequiredService<IClusterClient>();
}
