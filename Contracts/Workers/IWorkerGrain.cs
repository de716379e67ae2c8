using Orleans.Concurrency;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Contracts.Workers;

/// <summary>
/// Commands for one worker process, keyed by worker id. Pinned by <see cref="WorkerPlacementAttribute"/> to the
/// silo of that process; its commands are one-way and only drop a command in the training thread's mailbox and return, so a grain
/// turn never waits on training.
/// </summary>
[Alias("orch.IWorkerGrain")]
public interface IWorkerGrain : IGrainWithStringKey
{
    /// <summary>Take part in a run at this generation and rank (replaces any earlier generation at the next step boundary).</summary>
    [OneWay, Alias("Assign")] Task AssignAsync(RunAssignment assignment);

    /// <summary>Stop working on this run at the next step boundary and become idle.</summary>
    [OneWay, Alias("Release")] Task ReleaseAsync(string runId, string reason);

    [Alias("GetInfo")] Task<WorkerInfo> GetInfoAsync();
}
