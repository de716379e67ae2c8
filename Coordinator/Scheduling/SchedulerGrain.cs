using System.Collections.Immutable;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;
using Orchestrator.Contracts.Specs;
using Orchestrator.Coordinator.Runs;

namespace Orchestrator.Coordinator.Scheduling;

/// <summary>
/// Registry of worker slots and first-come-first-served scheduler: idle slots are offered to the runs that want them,
/// in submission order, each run only the slots where one more of its ranks fits (<see cref="DevicePacking"/>:
/// memory estimate, device share, one process per dropout run), so a device is never oversubscribed; each run
/// decides what it takes (gang scheduling lives in the run). A run that fits no registered device is refused at
/// submission, naming the numbers.
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
        if (worker.Slots < 1 || worker.Slot < 0 || worker.Slot >= worker.Slots)
            throw new ArgumentException($"worker '{worker.Id}': slot {worker.Slot} of {worker.Slots} (slots must be at least 1)");
        var registered = worker with { State = WorkerState.Idle, RunId = null, Reason = null, LostAt = null, RegisteredAt = time.GetUtcNow() };
        S.Workers[worker.Id] = registered;
        // A process that restarted with fewer slots leaves its old higher slots behind: they are gone.
        foreach (var stale in S.Workers.Values.Where(w => w.ProcessName == worker.ProcessName && w.Slot >= worker.Slots && w.State != WorkerState.Lost).ToList())
            await MarkLostAsync(stale, $"its process restarted with {worker.Slots} slots");
        await store.WriteStateAsync();
        LogRegistered(worker.Id, worker.Device, worker.Host);
        await OfferAsync();
        return S.Workers[worker.Id];
    }

    public Task<ImmutableArray<WorkerInfo>> ListWorkersAsync() =>
        Task.FromResult(S.Workers.Values.OrderBy(w => w.Id, StringComparer.Ordinal).ToImmutableArray());

    public Task<ImmutableArray<WorkerInfo>> ListRecentWorkersAsync() =>
        Task.FromResult(WorkerAging.Recent(S.Workers.Values.OrderBy(w => w.Id, StringComparer.Ordinal), time.GetUtcNow()));

    /// <summary>A process id loses every slot of that process; a slot id only that slot.</summary>
    public async Task WorkerLostAsync(string workerId, string reason, string? siloAddress = null)
    {
        var lost = S.Workers.Values
            .Where(w => (w.Id == workerId || w.ProcessName == workerId) && w.State != WorkerState.Lost)
            .Where(w => siloAddress is null || w.SiloAddress == "" || w.SiloAddress == siloAddress)
            .ToList();
        if (lost.Count == 0) return;
        foreach (var w in lost) await MarkLostAsync(w, reason);
        // The run now has room: an idle spare can join it (at its next checkpoint).
        await OfferAsync();
    }

    async Task MarkLostAsync(WorkerInfo w, string reason)
    {
        S.Workers[w.Id] = w with { State = WorkerState.Lost, Reason = reason, RunId = null, LostAt = time.GetUtcNow() };
        foreach (var gone in WorkerAging.Forgotten(S.Workers.Values).ToList()) S.Workers.Remove(gone);
        await store.WriteStateAsync();
        LogLost(w.Id, reason);
        if (w.RunId is { } runId) await GrainFactory.GetGrain<IRunGrain>(runId).WorkerLostAsync(w.Id, reason);
    }

    public async Task<RunStatus> SubmitRunAsync(RunSpec spec)
    {
        var demand = CheckPlaceable(spec, "");
        var id = $"{spec.Name}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
        S.Demands[id] = demand with { RunId = id };
        var status = await GrainFactory.GetGrain<IRunGrain>(id).SubmitAsync(spec);
        S.Runs.Add(id);
        await store.WriteStateAsync();
        return status;
    }

    public Task CheckPlaceableAsync(ImmutableArray<RunSpec> specs)
    {
        var problems = new List<string>();
        foreach (var spec in specs)
        {
            try { CheckPlaceable(spec, ""); }
            catch (InvalidRunSpecException e) { problems.Add(e.Message); }
        }
        if (problems.Count > 0)
            throw new InvalidRunSpecException(problems.Count == 1 ? problems[0] : $"{problems.Count} runs cannot start: {string.Join("; ", problems)}");
        return Task.CompletedTask;
    }

    /// <summary>Validates the spec and checks that some registered device could hold one of its ranks.</summary>
    RunDemand CheckPlaceable(RunSpec spec, string runId)
    {
        RunSpecValidator.Validate(spec);
        if (spec.Trainer == "gpt" && spec.Model.Preset is null && CorpusBlock.Problem(spec.Data, spec.Model.BlockSize, "model.block_size") is { } block)
            throw new InvalidRunSpecException(block);
        var demand = RunDemand.Of(runId, spec, CorpusVocab.TryRead(spec.Data) ?? RunMemory.DefaultVocab);
        if (DevicePacking.NeverFits(spec.Name, demand, S.Workers.Values) is { } why) throw new InvalidRunSpecException(why);
        return demand;
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
        if (runEnded)
        {
            S.Wanting.Remove(runId);
            S.Demands.Remove(runId);
        }
        await store.WriteStateAsync();
        await OfferAsync();
    }

    /// <summary>Offers each wanting run, in order, the idle slots where its ranks fit; a run takes what it can use.</summary>
    async Task OfferAsync()
    {
        bool changed = false;
        foreach (var runId in S.Wanting.ToList())
        {
            if (!S.Workers.Values.Any(w => w.State == WorkerState.Idle)) break;
            var idle = S.Demands.TryGetValue(runId, out var demand)
                ? DevicePacking.Fitting(demand, S.Workers.Values, S.Demands)
                : S.Workers.Values.Where(w => w.State == WorkerState.Idle).OrderBy(w => w.Id, StringComparer.Ordinal).ToImmutableArray();
            if (idle.IsEmpty) continue;
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
