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
/// turn never waits on another grain that could be waiting on it. Its rules stay in this one class (about 380 lines)
/// because they share one persisted state that each turn changes and saves once; the pure decisions live beside it
/// (<see cref="RunGrainRules"/>, <see cref="CheckpointLedger"/>, <see cref="RunRecordBounds"/>).
/// </summary>
[ControlPlanePlacement]
public sealed class RunGrain(
    [PersistentState("run", ClusterNames.Storage)] IPersistentState<RunGrainState> store,
    TimeProvider time,
    CoordinatorMetrics metrics,
    ILogger<RunGrain> log) : Grain, IRunGrain
{
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

    /// <summary>
    /// How long a member may stay away from its generation's rendezvous before the run goes on without it, as without a
    /// lost worker, and hands it back to the scheduler (torchrun's rendezvous timeout). A worker that answers its
    /// membership probes but never comes would otherwise hold the run at its rendezvous for ever. Generous: a member may
    /// still be finishing its previous generation's checkpoint write, which for a large model takes minutes.
    /// </summary>
    public static readonly TimeSpan RendezvousTimeout = TimeSpan.FromMinutes(10);

    // The current generation's assignments and when its rendezvous began (this activation's memory: after a coordinator
    // restart, workers report in anew and the rendezvous has its whole timeout again).
    ImmutableArray<RunAssignment> sent = [];
    DateTimeOffset rendezvousSince;
    IGrainTimer? resendTimer;
    // Workers dropped for never coming to a rendezvous: not taken back by this run (this activation's memory), so a
    // wedged one costs each run one timeout, not one per checkpoint.
    readonly HashSet<string> absentees = [];

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
        log.Submitted(Id, spec.ResolvedSteps, spec.Workers.Min, spec.Workers.Max);
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
            sent = Assignments(st.Generation, st.Workers, resume, st.TotalSteps);
            rendezvousSince = time.GetUtcNow();
            resendTimer = this.RegisterGrainTimer(ResendAssignmentsAsync, AssignmentResend, AssignmentResend);
        }
        return Task.CompletedTask;
    }

    /// <summary>A run still in flight loses only its resend timer with its activation (its state is stored): say why it ended.</summary>
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken ct)
    {
        if (S.Status is { } st && !st.State.IsFinal()) log.Deactivated(Id, st.State, reason.ToString());
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
        var taken = RunGrainRules.WorkersToTake(Spec, st, [.. workers.Where(w => !absentees.Contains(w.Id))]);
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
            log.Joining(Id, string.Join(",", taken), st.Generation);
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
        await LoseMembersAsync([workerId], reason);
    }

    /// <summary>Current members leave at once, for one reason: one new generation without them (or Recovering below min).</summary>
    async Task LoseMembersAsync(ImmutableArray<string> lost, string reason)
    {
        var st = Status;
        foreach (var w in lost)
        {
            metrics.WorkerLost();
            log.WorkerLost(Id, w, st.Generation, reason);
        }
        // A recovery is a boundary too: joiners waiting for a checkpoint come in now.
        var survivors = st.Workers.RemoveRange(lost).AddRange(st.Joining);
        var from = st.Checkpoints.IsEmpty ? "the start" : $"checkpoint step {st.Checkpoints[^1].Step}";
        var why = $"{(lost.Length == 1 ? "worker" : "workers")} {string.Join(", ", lost)} lost ({reason})";
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
                log.Running(Id, st.Generation, st.WorldSize);
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
            int world = st.WorldSize;
            st = RunGrainRules.Apply(st, r.Steps, step => TokensAt(step, world));
            metrics.Observe(st, r.Steps);
        }
        CheckpointRef? committed = null;
        foreach (var written in r.CheckpointsWritten.Where(c => c.Generation == st.Generation))
        {
            if (written.WriteSeconds is { } seconds) metrics.CheckpointWritten(Id, seconds);
            if (!CheckpointLedger.ShardWritten(S, written.Step, r.Rank, st.WorldSize)) continue;
            var ck = committed = written;
            st = st with { Checkpoints = CheckpointLedger.Commit(st.Checkpoints, ck, Spec.Checkpoint) };
            S.CheckpointTokens[ck.Step] = TokensAt(ck.Step, st.WorldSize);
            CheckpointLedger.ForgetPruned(S, st.Checkpoints);
            st = st with { Events = RunRecordBounds.CapEvents(st.Events.Add(new RunEvent(RunEventKind.Checkpoint, time.GetUtcNow(), ck.Step, st.Generation, st.WorldSize, ck.Path))) };
            S.RestartsWithoutProgress = 0;
            log.CheckpointCommitted(Id, ck.Step, st.Generation, ck.Path);
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
        log.Generation(Id, generation, members.Length, resume?.Step ?? 0, reason);
        sent = Assignments(generation, members, resume, st.TotalSteps);
        rendezvousSince = time.GetUtcNow();
        foreach (var assignment in sent) await GrainFactory.GetGrain<IWorkerGrain>(members[assignment.Rank]).AssignAsync(assignment);
        resendTimer ??= this.RegisterGrainTimer(ResendAssignmentsAsync, AssignmentResend, AssignmentResend);
    }

    /// <summary>One assignment per member, ranks in member order.</summary>
    ImmutableArray<RunAssignment> Assignments(int generation, ImmutableArray<string> members, CheckpointRef? resume, int totalSteps) =>
        [.. Enumerable.Range(0, members.Length).Select(rank => new RunAssignment(Id, Spec, generation, rank, members.Length, members, resume, totalSteps))];

    /// <summary>Timer: while the generation's rendezvous waits, sends each member that has not arrived its assignment
    /// again; past <see cref="RendezvousTimeout"/> the run goes on without them.</summary>
    async Task ResendAssignmentsAsync(CancellationToken ct)
    {
        if (S.Status is not { State: RunState.Rendezvous } st || sent.IsEmpty || sent[0].Generation != st.Generation)
        {
            resendTimer?.Dispose();
            resendTimer = null;
            return;
        }
        var absent = sent.Where(a => S.Bootstraps[a.Rank] is null).ToList();
        if (time.GetUtcNow() - rendezvousSince >= RendezvousTimeout)
        {
            await DropAbsentAsync([.. absent.Select(a => a.Members[a.Rank])], st.Generation);
            return;
        }
        foreach (var a in absent)
        {
            log.Resent(Id, st.Generation, a.Members[a.Rank], AssignmentResend.TotalSeconds);
            await GrainFactory.GetGrain<IWorkerGrain>(a.Members[a.Rank]).AssignAsync(a);
        }
    }

    /// <summary>Members that never came to the rendezvous leave the run as lost workers do (a new generation without
    /// them, or Recovering below min), then go back to the scheduler idle, for other runs.</summary>
    async Task DropAbsentAsync(ImmutableArray<string> absent, int generation)
    {
        var why = $"not at the rendezvous of generation {generation} after {RendezvousTimeout.TotalMinutes:0} min";
        absentees.UnionWith(absent);
        await LoseMembersAsync(absent, why);
        foreach (var w in absent) await GrainFactory.GetGrain<IWorkerGrain>(w).ReleaseAsync(Id, why);
        await Scheduler.ReleaseWorkersAsync(Id, absent, runEnded: false);
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
        log.Ended(Id, state, reason);
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
        S.Status = st with { Events = RunRecordBounds.CapEvents(st.Events.Add(e)) };
    }

    Task SaveAsync() => store.WriteStateAsync();
}
