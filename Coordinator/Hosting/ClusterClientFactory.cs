using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Cluster;
using Orleans.Configuration;

namespace Orchestrator.Coordinator.Hosting;

/// <summary>The coordinator could not be reached: one line with the address, no stack trace.</summary>
public sealed class CoordinatorUnreachableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Connects a console (or any tool) to the cluster gateway.</summary>
public static class ClusterClientFactory
{
    /// <summary>
    /// Connects to the gateway at <paramref name="gateway"/> (embedded mode) or through Redis membership.
    /// Throws <see cref="CoordinatorUnreachableException"/> naming the address when nobody answers.
    /// </summary>
    public static async Task<IHost> ConnectAsync(IPEndPoint gateway, string? redis, CancellationToken ct)
    {
        var builder = Host.CreateApplicationBuilder([]);
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(c =>
        {
            if (redis is not null) c.UseRedisClustering(redis);
            else c.UseStaticClustering(gateway);
            c.Configure<ClusterOptions>(o => { o.ClusterId = ClusterNames.ClusterId; o.ServiceId = ClusterNames.ServiceId; });
            c.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(30));
        });
        var host = builder.Build();
        var where = redis is not null ? $"the cluster registered in Redis at {redis}" : $"the coordinator at {gateway}";
        try
        {
            await host.StartAsync(ct).WaitAsync(TimeSpan.FromSeconds(15), ct);
            return host;
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            host.Dispose();
            throw new CoordinatorUnreachableException(
                $"cannot reach {where} ({e.GetBaseException().Message.TrimEnd('.')}); start it with `orch coordinator` or `orch local`, or pass --coordinator HOST:PORT", e);
        }
    }

    public static IClusterClient Client(this IHost host) => host.Services.GetRequiredService<IClusterClient>();
}
