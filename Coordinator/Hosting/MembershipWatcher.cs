using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Cluster;
using Orleans.Runtime;

namespace Orchestrator.Coordinator.Hosting;

/// <summary>
/// Turns Orleans failure detection into worker losses: when a worker's silo is declared dead (or shuts down), the
/// scheduler marks it lost and its run starts a new generation. Runs on coordinator silos only.
/// </summary>
public sealed partial class MembershipWatcher(
    IClusterMembershipService membership, IGrainFactory grains, ILogger<MembershipWatcher> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        var reported = new HashSet<SiloAddress>();
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(ct))
            {
                foreach (var m in snapshot.Members.Values)
                {
                    if (m.Status is not (SiloStatus.Dead or SiloStatus.ShuttingDown or SiloStatus.Stopping)) continue;
                    if (m.Name.StartsWith(ClusterNames.CoordinatorPrefix, StringComparison.Ordinal) || !reported.Add(m.SiloAddress)) continue;
                    var reason = m.Status == SiloStatus.Dead ? "declared dead by failure detection" : "shut down";
                    LogLost(m.Name, m.SiloAddress.ToString(), reason);
                    try
                    {
                        await grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Key)
                            .WorkerLostAsync(m.Name, reason, m.SiloAddress.ToParsableString());
                    }
                    catch (Exception e) when (!ct.IsCancellationRequested)
                    {
                        reported.Remove(m.SiloAddress); // try again at the next membership update
                        LogReportFailed(m.Name, e.Message);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    [LoggerMessage(LogLevel.Warning, "worker {WorkerId} at {Silo}: {Reason}")]
    partial void LogLost(string workerId, string silo, string reason);
    [LoggerMessage(LogLevel.Warning, "reporting the loss of worker {WorkerId} failed: {Error}")]
    partial void LogReportFailed(string workerId, string error);
}
