using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;
using Orchestrator.Coordinator.Telemetry;

namespace Orchestrator.Coordinator.Runs;

/// <summary>
/// One training run: validation, gang scheduling (nothing starts below workers.min), rendezvous per membership
/// generation, step progress, checkpoint commits, and the elastic rules: a lost member or a joiner starts a new generation
/// that resumes from the last committed checkpoint. Calls out only one-way (to workers and the scheduler), so a
/// turn never waits on another grain that could be waiting on it.
/// </summary>
[ControlPlanePlacement]
public sealed partial class RunGrain(
    [PersistentState("run", ClusterNames.Storage)] IPersistentState<RunGrainState> store,
    TimeProvider time,
    CoordinatorMetrics metrics,
    ILogger<RunGrain> log) : Grain, IRunGrain
{
    const int MaxHistory = 512;
    /// <summary>Membership and checkpoint events kept (older checkpoint events go first).</summary>
    const int MaxEvents = 256;
    /// <summary>Generations restarted after transient errors without a new checkpoint before the run fails.</summary>
    const int MaxRestartsWithoutProgress = 5;

    /// <summary>The lines the ranks logged, in memory only (a restarted coordinator or a new activation starts empty).</summary>
    readonly RunLogRing logs = new(time.GetUtcNow());

    /// <summary>
    /// How long a member may stay away from its generation's rendezvous before its assignment is sent again.
    /// Assignments are one-way messages, and one sent while the cluster re-forms (a silo just declared dead, its
    /// directory partition moving) can be lost; without a resend the other ranks would wait at the rendezvous for ever.
    /// A worker that already has the assignment ignores the copy.
    /// </summary>
    public static readonly TimeSpan AssignmentResend = TimeSpan.FromSeconds(5);

    // The current generation's assignments (this activation's memory: after a coordinator restart, workers report in anew).
    ImmutableArray<RunAssignment> sent = [];
    IGrainTimer? resendTimer;

    RunGrainState S => store.State;
    string Id => this.GetPrimaryKeyString();
    RunStatus Status => S.Status ?? throw new UnknownRunException($"no run '{Id}' (`orch run list` shows the runs)");
    RunSpec Spec => Status.Spec!;
    ISchedulerGrain Scheduler => GrainFactory.GetGrain<ISchedulerGrain>(ISchedulerGrain.Key);

    public async Task<RunStatus> SubmitAsync(RunSpec spec)
    {
        if (S.Status is not null)
            throw new InvalidRunSpecException($"run '{Id}' already exists (submit under another name)");
        RunSpecValidator.Validate(spec);
        var now = time.GetUtcNow();
        var reason = $"submitted; waiting for {spec.Workers.Min}..{spec.Workers.Max} {spec.Device} workers";
        S.Status = new RunStatus
        {
            Id = Id, Name = spec.Name, State = RunState.Pending, TotalSteps = spec.ResolvedSteps, CreatedAt = now,
            Spec = spec, Reason = reason, Transitions = [new StateTransition(RunState.Pending, reason, now, 0)],
        };
        await SaveAsync();
        metrics.RunSubmitted();
        LogSubmitted(Id, spec.ResolvedSteps, spec.Workers.Min, spec.Workers.Max);
        await Scheduler.RequestWorkersAsync(Id);
        return Status;
    }

    public Task<RunStatus> GetStatusAsync() => Task.FromResult(Status);

    /// <summary>An activation that starts mid-rendezvous (the last one was lost) rebuilds the generation's assignments from
    /// the stored state and resends them to the members not yet there, as the lost activation would have.</summary>
    public override Task OnActivateAsync(CancellationToken ct)
    {
        if (S.Status is { State: RunState.Rendezvous } st && st.Spec is not null && st.Workers.Length == S.Bootstraps.Length)
        {
            var resume = st.Checkpoints.LastOrDefault(c => c.Step == S.GenerationStep);
            sent = [.. Enumerable.Range(0, st.Workers.Length).Select(rank => new RunAssignment(Id, Spec, st.Generation, rank, st.Workers.Length, st.Workers, resume, st.TotalSteps))];
            resendTimer = this.RegisterGrainTimer(ResendAssignmentsAsync, AssignmentResend, AssignmentResend);
        }
        return Task.CompletedTask;
    }

    /// <summary>A run still in flight loses only its resend timer with its activation (its state is stored): say why it ended.</summary>
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken ct)
    {
        if (S.Status is { } st && !st.State.IsFinal()) LogDeactivated(Id, st.State, reason.ToString());
        return Task.CompletedTask;
    }

    public async Task<RunStatus> CancelAsync(string reason)
    {
        if (Status.State.IsFinal()) return Status;
        await EndAsync(RunState.Cancelled, reason);
        return Status;
    }

    public async Task<ImmutableArray<string>> OfferWorkersAsync(ImmutableArray<WorkerInfo> workers)
    {
        if (S.Status is not { } st || st.State.IsFinal()) return [];
        int room = Spec.Workers.Max - st.Workers.Length - st.Joining.Length;
        if (room <= 0) return [];
        var candidates = workers
            .Where(w => w.State == WorkerState.Idle && w.DeviceKind == Spec.Device)
            .Select(w => w.Id)
            .Where(id => !st.Workers.Contains(id) && !st.Joining.Contains(id))
            .Take(room).ToImmutableArray();
        // A global batch is kept only at world sizes that divide it: take as many as make the largest such world.
        int have = st.Workers.Length + st.Joining.Length;
        int want = WorldBatch.Largest(Spec, have + candidates.Length) is int world && world > have ? world - have : 0;
        var taken = candidates.Take(want).ToImmutableArray();
        if (taken.IsEmpty) return [];

        if (st.State is RunState.Pending or RunState.Recovering)
        {
            // Gang scheduling: start only when the whole minimum world is there; take nobody before that.
            if (st.Workers.Length + taken.Length < Spec.Workers.Min) return []; // (want keeps it at a dividing world size)
            var members = st.Workers.AddRange(taken);
            var why = st.State == RunState.Pending
                ? $"{members.Length} workers gathered (min {Spec.Workers.Min})"
                : $"back to {members.Length} workers (min {Spec.Workers.Min})";
            if (st.State == RunState.Recovering) AddEvent(RunEventKind.WorkerJoined, $"{string.Join(", ", taken)} joined");
            await StartGenerationAsync(members, why);
        }
        else
        {
            // Running: the newcomers are taken in at the next checkpoint boundary (no work is thrown away).
            S.Status = st with { Joining = st.Joining.AddRange(taken) };
            await SaveAsync();
            LogJoining(Id, string.Join(",", taken), st.Generation);
        }
        return taken;
    }

    public async Task WorkerLostAsync(string workerId, string reason)
    {
        if (S.Status is not { } st || st.State.IsFinal()) return;
        if (st.Joining.Contains(workerId))
        {
            S.Status = st with { Joining = st.Joining.Remove(workerId) };
            await SaveAsync();
            return;
        }
        if (!st.Workers.Contains(workerId)) return;
        metrics.WorkerLost();
        // A recovery is a boundary too: joiners waiting for a checkpoint come in now.
        var survivors = st.Workers.Remove(workerId).AddRange(st.Joining);
        var from = st.Checkpoints.IsEmpty ? "the start" : $"checkpoint step {st.Checkpoints[^1].Step}";
        var why = $"worker {workerId} lost ({reason})";
        LogWorkerLost(Id, workerId, st.Generation, reason);
        AddEvent(RunEventKind.WorkerLost, why, worldSize: survivors.Length);
        Transition(RunState.Recovering, why);
        if (WorldBatch.Largest(Spec, survivors.Length) is int world)
        {
            // Survivors beyond the largest world that keeps the global batch go back to the scheduler, idle.
            var spare = survivors[world..];
            survivors = survivors[..world];
            var keep = spare.IsEmpty ? "" : $" (released {string.Join(", ", spare)}: {survivors.Length + spare.Length} workers cannot keep global_batch {Spec.GlobalBatch})";
            await StartGenerationAsync(survivors, $"{why}; continuing with {survivors.Length} workers from {from}{keep}");
            if (!spare.IsEmpty)
            {
                foreach (var w in spare) await GrainFactory.GetGrain<IWorkerGrain>(w).ReleaseAsync(Id, $"world {world} keeps the global batch");
                await Scheduler.ReleaseWorkersAsync(Id, spare, runEnded: false);
            }
        }
        else
        {
            // Below min: hold the survivors, stop them at their next report (new generation, no assignment), wait for offers.
            S.Status = Status with { Workers = survivors, Joining = [], WorldSize = survivors.Length, Generation = st.Generation + 1 };
            S.Bootstraps = new string?[survivors.Length];
            Transition(RunState.Recovering, $"{why}; {survivors.Length} left, waiting for {Spec.Workers.Min}");
            await SaveAsync();
            await Scheduler.RequestWorkersAsync(Id);
        }
    }

    public async Task<RendezvousReply> RendezvousAsync(RendezvousRequest request)
    {
        if (!IsCurrentMember(request.Generation, request.Rank, request.WorkerId)) return new(RendezvousOutcome.Stale, []);
        var st = Status;
        if (S.Bootstraps[request.Rank] != request.Bootstrap)
        {
            S.Bootstraps[request.Rank] = request.Bootstrap;
            if (S.Bootstraps.All(b => b is not null) && st.State == RunState.Rendezvous)
            {
                S.Status = st with { StartedAt = st.StartedAt ?? time.GetUtcNow() };
                Transition(RunState.Running, $"all {st.WorldSize} ranks arrived at generation {st.Generation}");
                LogRunning(Id, st.Generation, st.WorldSize);
            }
            await SaveAsync();
        }
        return S.Bootstraps.All(b => b is not null)
            ? new(RendezvousOutcome.Ready, [.. S.Bootstraps.Select(b => b!)])
            : new(RendezvousOutcome.Waiting, []);
    }

    public async Task<ReportOutcome> ReportAsync(ProgressReport r)
    {
        if (S.Status is null) return ReportOutcome.Stop;
        // Lines are kept whatever the report's generation: a rank's last words before a new one or the end still count.
        if (!r.Logs.IsEmpty) logs.Append(r.Logs, r.WorkerId);
        if (S.Status is not { } st || st.State.IsFinal()) return ReportOutcome.Stop;
        if (!IsCurrentMember(r.Generation, r.Rank, r.WorkerId)) return ReportOutcome.Stale;

        if (r.Rank == 0 && r.Steps.Length > 0)
        {
            var steps = r.Steps.Select(p => p with { Tokens = TokensAt(p.Step, st.WorldSize), WorldSize = st.WorldSize }).ToList();
            var last = steps[^1];
            st = st with
            {
                Step = last.Step, Loss = last.Loss, TokensTrained = TokensAt(last.Step, st.WorldSize), TokensPerSecond = last.TokensPerSecond, Mfu = last.Mfu,
                LearningRate = last.Lr ?? st.LearningRate,
                ValLoss = r.Steps.LastOrDefault(p => p.ValLoss is not null)?.ValLoss ?? st.ValLoss,
                History = Thin(st.History.AddRange(steps)),
            };
            metrics.Observe(st, r.Steps);
        }
        CheckpointRef? committed = null;
        foreach (var written in r.CheckpointsWritten.Where(c => c.Generation == st.Generation))
        {
            if (written.WriteSeconds is { } seconds) metrics.CheckpointWritten(Id, seconds);
            if (!S.ShardsWritten.TryGetValue(written.Step, out var ranks)) S.ShardsWritten[written.Step] = ranks = [];
            ranks.Add(r.Rank);
            if (ranks.Count < st.WorldSize) continue;
            S.ShardsWritten.Remove(written.Step);
            var ck = committed = written;
            var kept = st.Checkpoints.RemoveAll(c => c.Step >= ck.Step).Add(ck);
            // Keep-last-N, but fork points (checkpoint.at) stay listed: a sweep's branches start from them later.
            var pinned = Spec.Checkpoint.Pinned;
            var recent = kept.Where(c => !pinned.Contains(c.Step)).TakeLast(Spec.Checkpoint.Keep).ToHashSet();
            st = st with { Checkpoints = [.. kept.Where(c => pinned.Contains(c.Step) || recent.Contains(c))] };
            S.CheckpointTokens[ck.Step] = TokensAt(ck.Step, st.WorldSize);
            foreach (var gone in S.CheckpointTokens.Keys.Where(k => !st.Checkpoints.Any(c => c.Step == k)).ToList()) S.CheckpointTokens.Remove(gone);
            st = st with { Events = CapEvents(st.Events.Add(new RunEvent(RunEventKind.Checkpoint, time.GetUtcNow(), ck.Step, st.Generation, st.WorldSize, ck.Path))) };
            S.RestartsWithoutProgress = 0;
            LogCheckpoint(Id, ck.Step, st.Generation, ck.Path);
        }
        if (r.FinalValLoss is { } v) { S.FinalValLoss = v; st = st with { ValLoss = v }; }
        if (r.Phases is { } phases && r.Rank == 0) st = st with { Phases = phases };
        S.Status = st;

        if (r.Error is { } error)
        {
            var why = $"rank {r.Rank} ({r.WorkerId}) failed: {error}";
            if (!r.ErrorIsTransient || ++S.RestartsWithoutProgress > MaxRestartsWithoutProgress)
            {
                await EndAsync(RunState.Failed, why);
                return ReportOutcome.Stop;
            }
            // A communication failure usually means a peer died before failure detection said so: rebuild the
            // world from the last checkpoint; if the peer really is gone, its loss starts yet another generation.
            Transition(RunState.Recovering, why);
            AddEvent(RunEventKind.Restarted, why);
            await StartGenerationAsync(st.Workers.AddRange(st.Joining), $"{why}; restarting generation");
            return ReportOutcome.Stale;
        }
        if (r.Finished && S.FinishedRanks.Add(r.Rank) && S.FinishedRanks.Count == st.WorldSize)
        {
            await EndAsync(RunState.Completed, $"all {st.WorldSize} ranks finished step {st.TotalSteps}");
            return ReportOutcome.Stop;
        }
        if (committed is not null && !st.Joining.IsEmpty && !r.Finished)
        {
            AddEvent(RunEventKind.WorkerJoined, $"{string.Join(", ", st.Joining)} taken in at checkpoint step {committed.Step}");
            await StartGenerationAsync(st.Workers.AddRange(st.Joining),
                $"taking in {string.Join(", ", st.Joining)} at checkpoint step {committed.Step}");
            return ReportOutcome.Stale;
        }
        if (!r.OnlyLogs) await SaveAsync(); // a report of log lines alone changes nothing persisted
        return ReportOutcome.Continue;
    }

    public Task<RunLogPage> GetLogsAsync(RunLogQuery query) => Task.FromResult(logs.Read(query, Status.State));

    /// <summary>Bumps the generation, assigns ranks in member order and tells every member (one-way).</summary>
    async Task StartGenerationAsync(ImmutableArray<string> members, string reason)
    {
        var st = Status;
        var resume = st.Checkpoints.IsEmpty ? null : st.Checkpoints[^1];
        int generation = st.Generation + 1;
        S.Bootstraps = new string?[members.Length];
        S.ShardsWritten.Clear();
        S.FinishedRanks.Clear();
        S.GenerationStep = resume?.Step ?? 0;
        S.GenerationTokens = resume is null ? 0
            : S.CheckpointTokens.TryGetValue(resume.Step, out var t) ? t : (long)resume.Step * TokensPerStep(resume.WorldSize);
        S.Status = st with
        {
            Generation = generation, Workers = members, WorldSize = members.Length,
            Joining = st.Joining.RemoveRange(members), Step = resume?.Step ?? 0, TokensTrained = S.GenerationTokens,
        };
        AddEvent(RunEventKind.Generation, reason);
        Transition(RunState.Rendezvous, reason);
        await SaveAsync();
        metrics.GenerationStarted();
        LogGeneration(Id, generation, members.Length, resume?.Step ?? 0, reason);
        sent = [.. Enumerable.Range(0, members.Length).Select(rank => new RunAssignment(Id, Spec, generation, rank, members.Length, members, resume, st.TotalSteps))];
        foreach (var assignment in sent) await GrainFactory.GetGrain<IWorkerGrain>(members[assignment.Rank]).AssignAsync(assignment);
        resendTimer ??= this.RegisterGrainTimer(ResendAssignmentsAsync, AssignmentResend, AssignmentResend);
    }

    /// <summary>Timer: while the generation's rendezvous waits, sends each member that has not arrived its assignment again.</summary>
    async Task ResendAssignmentsAsync(CancellationToken ct)
    {
        if (S.Status is not { State: RunState.Rendezvous } st || sent.IsEmpty || sent[0].Generation != st.Generation)
        {
            resendTimer?.Dispose();
            resendTimer = null;
            return;
        }
        foreach (var a in sent.Where(a => S.Bootstraps[a.Rank] is null))
        {
            LogResent(Id, st.Generation, a.Members[a.Rank], AssignmentResend.TotalSeconds);
            await GrainFactory.GetGrain<IWorkerGrain>(a.Members[a.Rank]).AssignAsync(a);
        }
    }

    /// <summary>Final state: releases every worker (theirs and the scheduler's view).</summary>
    async Task EndAsync(RunState state, string reason)
    {
        var st = Status;
        var workers = st.Workers.AddRange(st.Joining);
        S.Status = st with { EndedAt = time.GetUtcNow(), Joining = [], ValLoss = S.FinalValLoss ?? st.ValLoss };
        Transition(state, reason);
        await SaveAsync();
        metrics.RunEnded(S.Status, state);
        LogEnded(Id, state, reason);
        foreach (var w in workers) await GrainFactory.GetGrain<IWorkerGrain>(w).ReleaseAsync(Id, reason);
        await Scheduler.ReleaseWorkersAsync(Id, workers, runEnded: true);
    }

    /// <summary>Tokens trained at <paramref name="step"/> of the current generation, whose world is <paramref name="world"/>.</summary>
    long TokensAt(int step, int world) => S.GenerationTokens + Math.Max(0, step - S.GenerationStep) * TokensPerStep(world);

    bool IsCurrentMember(int generation, int rank, string workerId) =>
        S.Status is { } st && !st.State.IsFinal() && st.State is RunState.Rendezvous or RunState.Running
        && generation == st.Generation && rank >= 0 && rank < st.Workers.Length && st.Workers[rank] == workerId;

    void Transition(RunState state, string reason)
    {
        var st = Status;
        S.Status = st with
        {
            State = state, Reason = reason,
            Transitions = st.Transitions.Add(new StateTransition(state, reason, time.GetUtcNow(), st.Generation)),
        };
    }

    /// <summary>Tokens one optimizer step trains over all ranks of a world of this size.</summary>
    long TokensPerStep(int worldSize) => WorldBatch.TokensPerStep(Spec, worldSize);

    /// <summary>An event at the run's current step, generation and (unless given) world size.</summary>
    void AddEvent(RunEventKind kind, string detail, int? worldSize = null)
    {
        var st = Status;
        var e = new RunEvent(kind, time.GetUtcNow(), st.Step, st.Generation, worldSize ?? st.WorldSize, detail);
        S.Status = st with { Events = CapEvents(st.Events.Add(e)) };
    }

    /// <summary>Past the cap the oldest checkpoint event goes (membership events are rarer and tell more), else the oldest.</summary>
    static ImmutableArray<RunEvent> CapEvents(ImmutableArray<RunEvent> events)
    {
        while (events.Length > MaxEvents)
        {
            int i = 0;
            while (i < events.Length && events[i].Kind != RunEventKind.Checkpoint) i++;
            events = events.RemoveAt(i < events.Length ? i : 0);
        }
        return events;
    }

    /// <summary>
    /// Keeps the history bounded: past the cap, every other old point goes (the newest half stays dense), except points
    /// that carry a validation loss (rare, and the only record of it a sweep report's val curve has), unless keeping them
    /// would leave the history over the cap (validation at most reports): then every other old point goes regardless.
    /// </summary>
    static ImmutableArray<MetricPoint> Thin(ImmutableArray<MetricPoint> h)
    {
        if (h.Length <= MaxHistory) return h;
        int half = h.Length / 2;
        var older = h.Take(half).Where((p, i) => i % 2 == 0 || p.ValLoss is not null).ToList();
        if (older.Count + h.Length - half > MaxHistory) older = [.. h.Take(half).Where((_, i) => i % 2 == 0)];
        return [.. older, .. h.Skip(half)];
    }

    Task SaveAsync() => store.WriteStateAsync();

    [LoggerMessage(LogLevel.Warning, "run {RunId}: its activation ended while {State} ({Reason})")]
    partial void LogDeactivated(string runId, RunState state, string reason);
    [LoggerMessage(LogLevel.Information, "run {RunId}: submitted, {Steps} steps, {Min}..{Max} workers")]
    partial void LogSubmitted(string runId, int steps, int min, int max);
    [LoggerMessage(LogLevel.Information, "run {RunId} generation {Generation}: rendezvous of {WorldSize} ranks from step {Step} ({Reason})")]
    partial void LogGeneration(string runId, int generation, int worldSize, int step, string reason);
    [LoggerMessage(LogLevel.Information, "run {RunId} generation {Generation}: sent {WorkerId} its assignment again (not at the rendezvous after {Seconds} s)")]
    partial void LogResent(string runId, int generation, string workerId, double seconds);
    [LoggerMessage(LogLevel.Information, "run {RunId} generation {Generation}: running with {WorldSize} ranks")]
    partial void LogRunning(string runId, int generation, int worldSize);
    [LoggerMessage(LogLevel.Warning, "run {RunId} generation {Generation}: worker {WorkerId} lost: {Reason}")]
    partial void LogWorkerLost(string runId, string workerId, int generation, string reason);
    [LoggerMessage(LogLevel.Information, "run {RunId} generation {Generation}: workers {Workers} join at the next checkpoint")]
    partial void LogJoining(string runId, string workers, int generation);
    [LoggerMessage(LogLevel.Information, "run {RunId} generation {Generation}: checkpoint step {Step} committed at {Path}")]
    partial void LogCheckpoint(string runId, int step, int generation, string path);
    [LoggerMessage(LogLevel.Information, "run {RunId}: {State} ({Reason})")]
    partial void LogEnded(string runId, RunState state, string reason);
}
