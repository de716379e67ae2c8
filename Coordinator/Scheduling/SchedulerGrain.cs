using System.Collections.Immutable;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;
using Orchestrator.Coordinator.Runs;

namespace Orchestrator.Coordinator.Scheduling;

/// <summary>
/// Registry of workers and first-come-first-served scheduler: idle workers are offered to the runs that want them,
/// in submission order; each run decides what it takes (gang scheduling lives in the run).
/// </summary>
[ControlPlanePlacement]
public sealed partial class SchedulerGrain(
    [PersistentState("scheduler", ClusterNames.Storage)] IPersistentState<SchedulerState> store,
    TimeProvider time,
    ILogger<SchedulerGrain> log) : Grain, ISchedulerGrain
{
    SchedulerState S => store.State;

    public async Task<WorkerInfo> RegisterWorkerAsync(WorkerInfo worker)
    {
        if (worker.ProtocolVersion != ProtocolVersion.Current)
            throw new IncompatibleWorkerException(
                $"worker '{worker.Id}' speaks protocol {worker.ProtocolVersion} but this coordinator speaks {ProtocolVersion.Current}: " +
                "run the same orch version on the workers and the coordinator");
        if (string.IsNullOrWhiteSpace(worker.Id)) throw new ArgumentException("worker id is empty (give --name or leave it to the default)");
        if (S.Workers.TryGetValue(worker.Id, out var old) && old is { State: WorkerState.Busy, RunId: { } runId })
            await GrainFactory.GetGrain<IRunGrain>(runId).WorkerLostAsync(worker.Id, "its process restarted");
        var registered = worker with { State = WorkerState.Idle, RunId = null, Reason = null, RegisteredAt = time.GetUtcNow() };
        S.Workers[worker.Id] = registered;
        await store.WriteStateAsync();
        LogRegistered(worker.Id, worker.Device, worker.Host);
        await OfferAsync();
        return S.Workers[worker.Id];
    }

    public Task<ImmutableArray<WorkerInfo>> ListWorkersAsync() =>
        Task.FromResult(S.Workers.Values.OrderBy(w => w.Id, StringComparer.Ordinal).ToImmutableArray());

    public async Task WorkerLostAsync(string workerId, string reason, string? siloAddress = null)
    {
        if (!S.Workers.TryGetValue(workerId, out var w) || w.State == WorkerState.Lost) return;
        if (siloAddress is not null && w.SiloAddress != "" && w.SiloAddress != siloAddress) return;
        S.Workers[workerId] = w with { State = WorkerState.Lost, Reason = reason, RunId = null };
        await store.WriteStateAsync();
        LogLost(workerId, reason);
        if (w.RunId is { } runId) await GrainFactory.GetGrain<IRunGrain>(runId).WorkerLostAsync(workerId, reason);
        // The run now has room: an idle spare can join it (at its next checkpoint).
        await OfferAsync();
    }

    public async Task<RunStatus> SubmitRunAsync(RunSpec spec)
    {
        RunSpecValidator.Validate(spec);
        var id = $"{spec.Name}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
        var status = await GrainFactory.GetGrain<IRunGrain>(id).SubmitAsync(spec);
        S.Runs.Add(id);
        await store.WriteStateAsync();
        return status;
    }

    public Task<ImmutableArray<string>> ListRunsAsync() => Task.FromResult(S.Runs.ToImmutableArray());

    public async Task RequestWorkersAsync(string runId)
    {
        if (!S.Wanting.Contains(runId))
        {
            S.Wanting.Add(runId);
            await store.WriteStateAsync();
        }
        await OfferAsync();
    }

    public async Task ReleaseWorkersAsync(string runId, ImmutableArray<string> workerIds, bool runEnded)
    {
        foreach (var id in workerIds)
            if (S.Workers.TryGetValue(id, out var w) && w.State == WorkerState.Busy && w.RunId == runId)
                S.Workers[id] = w with { State = WorkerState.Idle, RunId = null };
        if (runEnded) S.Wanting.Remove(runId);
        await store.WriteStateAsync();
        await OfferAsync();
    }

    /// <summary>Offers the idle workers to each wanting run in order; a run takes what it can use.</summary>
    async Task OfferAsync()
    {
        bool changed = false;
        foreach (var runId in S.Wanting.ToList())
        {
            var idle = S.Workers.Values.Where(w => w.State == WorkerState.Idle).OrderBy(w => w.Id, StringComparer.Ordinal).ToImmutableArray();
            if (idle.IsEmpty) break;
            ImmutableArray<string> taken;
            try { taken = await GrainFactory.GetGrain<IRunGrain>(runId).OfferWorkersAsync(idle); }
            catch (Exception e)
            {
                LogOfferFailed(runId, e.Message);
                continue;
            }
            foreach (var id in taken)
            {
                S.Workers[id] = S.Workers[id] with { State = WorkerState.Busy, RunId = runId };
                changed = true;
            }
        }
        if (changed) await store.WriteStateAsync();
    }

    [LoggerMessage(LogLevel.Information, "worker {WorkerId} registered: {Device} on {Host}")]
    partial void LogRegistered(string workerId, string device, string host);
    [LoggerMessage(LogLevel.Warning, "worker {WorkerId} lost: {Reason}")]
    partial void LogLost(string workerId, string reason);
    [LoggerMessage(LogLevel.Warning, "offering workers to run {RunId} failed: {Error}")]
    partial void LogOfferFailed(string runId, string error);
}
