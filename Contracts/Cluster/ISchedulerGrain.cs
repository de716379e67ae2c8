using Orleans.Concurrency;
using System.Collections.Immutable;
using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;

namespace Orchestrator.Contracts.Cluster;

/// <summary>
/// The cluster's registry and scheduler (one grain, key <see cref="Key"/>): workers register here, runs are
/// submitted and listed here, and idle workers are offered to runs that want them.
/// Runs call it only one-way, so run -> scheduler -> run never deadlocks.
/// </summary>
[Alias("orch.ISchedulerGrain")]
public interface ISchedulerGrain : IGrainWithIntegerKey
{
    const long Key = 0;

    /// <summary>Throws <see cref="IncompatibleWorkerException"/> when the worker's protocol version differs.</summary>
    [Alias("RegisterWorker")] Task<WorkerInfo> RegisterWorkerAsync(WorkerInfo worker);

    /// <summary>Every worker the registry keeps, lost ones included (`orch workers list --all`).</summary>
    [Alias("ListWorkers")] Task<ImmutableArray<WorkerInfo>> ListWorkersAsync();

    /// <summary>The live workers and those lost within <see cref="WorkerAging.LostShownFor"/> (`orch workers list`).</summary>
    [Alias("ListRecentWorkers")] Task<ImmutableArray<WorkerInfo>> ListRecentWorkersAsync();

    /// <summary>
    /// Failure detection declared the worker's silo dead (or it left). <paramref name="siloAddress"/>, when given,
    /// must match the registration, so the death of a restarted worker's old process does not mark the new one lost.
    /// </summary>
    [Alias("WorkerLost")] Task WorkerLostAsync(string workerId, string reason, string? siloAddress = null);

    /// <summary>Names the run (name + suffix), validates and submits it; throws <see cref="InvalidRunSpecException"/>.</summary>
    [Alias("SubmitRun")] Task<RunStatus> SubmitRunAsync(RunSpec spec);

    /// <summary>
    /// Validates runs and checks each fits some registered device of its kind (estimated memory), without starting
    /// anything; throws <see cref="InvalidRunSpecException"/> naming every run that cannot start and the numbers.
    /// </summary>
    [Alias("CheckPlaceable")] Task CheckPlaceableAsync(ImmutableArray<RunSpec> specs);

    /// <summary>Run ids, oldest first.</summary>
    [Alias("ListRuns")] Task<ImmutableArray<string>> ListRunsAsync();

    /// <summary>A run wants (more) workers: offer it idle ones.</summary>
    [OneWay, Alias("RequestWorkers")] Task RequestWorkersAsync(string runId);

    /// <summary>A run no longer uses these workers (it ended, or dropped them); runEnded: stop offering it workers.</summary>
    [OneWay, Alias("ReleaseWorkers")] Task ReleaseWorkersAsync(string runId, ImmutableArray<string> workerIds, bool runEnded);
}
