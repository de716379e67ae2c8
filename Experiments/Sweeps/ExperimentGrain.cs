using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;
using Orleans.Timers;

namespace Orchestrator.Experiments.Sweeps;

/// <summary>
/// One sweep. A timer (kept alive while the sweep runs) polls the runs in flight, records finished ones (metrics file,
/// results.csv), resubmits failed ones up to the retry limit, and tops the flight up to the concurrency limit from
/// the queue. All of it lives in the persisted status, so a coordinator restarted with Redis storage finds the sweep
/// where it was. A timer dies with its process, so while the sweep runs it also holds a reminder (kept with the
/// cluster's reminders, in Redis): after a restart the reminder's next tick (within <see cref="ExperimentOptions.WakePeriod"/>)
/// activates the grain, which starts its timer again and goes on scheduling without waiting for a call. The reminder
/// is removed when the sweep ends. Silos without a reminder service (embedded mode, whose state dies with the process
/// anyway) run sweeps on the timer alone. The decisions are pure and live beside it (<see cref="SweepLaunchChecks"/>,
/// <see cref="PolledRun"/>, <see cref="AutoLrRule"/>, <see cref="QueuedRun"/>, <see cref="BranchScheduling"/>); the
/// grain polls, submits, stores and logs.
/// </summary>
[ControlPlanePlacement]
public sealed partial class ExperimentGrain(
    [PersistentState("sweep", ClusterNames.Storage)] IPersistentState<ExperimentState> store,
    IServiceProvider services,
    ILogger<ExperimentGrain> log) : Grain, IExperimentGrain, IRemindable
{
    /// <summary>The reminder a running sweep holds so that it is woken after a coordinator restart.</summary>
    public const string WakeReminder = "sweep-wake";

    readonly ExperimentOptions options = services.GetService<ExperimentOptions>() ?? new ExperimentOptions();
    readonly TimeProvider time = services.GetService<TimeProvider>() ?? TimeProvider.System;
    readonly bool hasReminders = services.GetService<IReminderRegistry>() is not null;
    IGrainTimer? timer;
    SweepStatus? current;

    string Id => this.GetPrimaryKeyString();
    SweepStatus Status => current ?? throw new UnknownSweepException($"no sweep '{Id}' (launch one with `orch sweep launch SWEEP.yaml`)");

    public override Task OnActivateAsync(CancellationToken ct)
    {
        current = store.State.Read(Id);
        if (current is { IsFinal: false } running)
        {
            // Activated by a call, or by the wake-up reminder after a restart: either way scheduling goes on from here.
            LogResumed(Id, running.Done, running.Runs.Length);
            StartTimer();
            // Not awaited: the reminder table may live on a silo that just died, and a call to it waits out the response
            // timeout; the activation (and so the call or reminder that woke the sweep) must not wait with it. The
            // registration runs on the grain's scheduler between turns and logs its own failure; sweeps launched
            // before reminders existed get one this way too.
            _ = KeepWakingAsync();
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// An activation of a sweep that is still running ends only by accident (the runtime moved or dropped it); its timer
    /// ends with it, and the sweep goes on at the next call or reminder: say so, with the runtime's reason.
    /// </summary>
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken ct)
    {
        if (current is { IsFinal: false } running) LogDeactivated(Id, running.Done, running.Runs.Length, reason.ToString());
        return Task.CompletedTask;
    }

    /// <summary>A reminder tick: activating the grain already restarted its timer; a stale reminder of an ended sweep goes.</summary>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != WakeReminder) return;
        if (current is not { IsFinal: false }) await StopWakingAsync();
        else StartTimer(); // already running since activation; a no-op then
    }

    public async Task<SweepStatus> LaunchAsync(SweepSpec spec, IReadOnlyList<PlannedRun> plan)
    {
        if (current is { } existing)
        {
            if (existing.Spec == spec || (existing.Spec is not null && SweepLaunchChecks.SameSpec(existing.Spec, spec))) return existing;
            throw new ArgumentException($"sweep '{Id}' already exists with a different spec: launch under another name");
        }
        // Checked before anything is stored or started: a sweep that could not write its folder would stay Running for ever.
        SweepLaunchChecks.Require(spec, plan);
        // Every run must fit some device before any starts (the scheduler names the run and the numbers); an lr: auto
        // run's lr is not known yet and does not change where it fits: it is checked with the sweep's lr.
        var folder = SweepFolder.For(spec.Storage, Id);
        await GrainFactory.GetGrain<ISchedulerGrain>(ISchedulerGrain.Key)
            .CheckPlaceableAsync([.. plan.Select(p => RunSpecs.For(spec, Id, folder, p.LrAuto ? p with { Lr = spec.Lr } : p, 1,
                // A branch's fork checkpoint exists only once its trunk gets there: check it with where it will be.
                initFrom: p.Role == RunRole.Branch ? Path.Combine(SweepFolder.RunsDir(folder), p.Parent!, $"fork-{p.ForkStep}") : null))]);
        var status = new SweepStatus
        {
            Id = Id,
            Name = spec.Name,
            State = SweepState.Running,
            Folder = folder,
            Runs = [.. plan.Select(p => new SweepRunStatus { Plan = p, TotalSteps = p.Steps })],
            CreatedAt = time.GetUtcNow(),
            Spec = spec,
        };
        current = status;
        await SaveAsync();
        await GrainFactory.GetGrain<ISweepIndexGrain>(ISweepIndexGrain.Key).AddAsync(Id);
        LogLaunched(Id, plan.Count, spec.Concurrency);
        await KeepWakingAsync();
        await TickAsync(CancellationToken.None);
        if (!Status.IsFinal) StartTimer();
        return Status;
    }

    public Task<SweepStatus> GetStatusAsync() => Task.FromResult(Status);

    public async Task<SweepStatus> CancelAsync(string reason)
    {
        if (Status.IsFinal) return Status;
        var runs = Status.Runs.ToBuilder();
        for (int i = 0; i < runs.Count; i++)
        {
            if (runs[i].RunId is { } runId && runs[i].State is { } st && !st.IsFinal())
            {
                try { await GrainFactory.CancelRunAsync(runId, $"sweep {Id} cancelled: {reason}"); }
                catch (Exception e) when (e is not OperationCanceledException) { LogPollFailed(runId, e.Message); }
                runs[i] = runs[i] with { State = RunState.Cancelled };
            }
        }
        current = Status with { Runs = runs.ToImmutable(), State = SweepState.Cancelled, EndedAt = time.GetUtcNow() };
        await SaveAsync();
        StopTimer();
        await StopWakingAsync();
        return Status;
    }

    public async Task<SweepStatus> ResumeAsync()
    {
        var status = Status;
        if (status.State is not (SweepState.Cancelled or SweepState.CompletedWithFailures)) return status;
        var runs = status.Runs.ToBuilder();
        for (int i = 0; i < runs.Count; i++)
            if (runs[i] is { Ended: false, State: RunState.Failed or RunState.Cancelled } r)
                runs[i] = r with { State = null, RunId = null, Step = 0, Loss = null, Failures = r.Failures.Add($"attempt {r.Attempts}: {r.State}; queued again by resume") };
        current = status with { Runs = runs.ToImmutable(), State = SweepState.Running, EndedAt = null };
        await SaveAsync();
        LogResumed(Id, runs.Count(r => r.State is null));
        await KeepWakingAsync();
        await TickAsync(CancellationToken.None);
        if (!Status.IsFinal) StartTimer();
        return Status;
    }

    void StartTimer() => timer ??= this.RegisterGrainTimer(TickAsync,
        new GrainTimerCreationOptions(options.PollInterval, options.PollInterval) { KeepAlive = true, Interleave = false });

    void StopTimer()
    {
        timer?.Dispose();
        timer = null;
    }

    /// <summary>Registers (or renews) the wake-up reminder; a failure is logged, not thrown: the timer still runs the sweep.</summary>
    async Task KeepWakingAsync()
    {
        if (!hasReminders) return;
        try { await this.RegisterOrUpdateReminder(WakeReminder, options.WakePeriod, options.WakePeriod); }
        catch (Exception e) when (e is not OperationCanceledException) { LogReminderFailed(Id, "register", e.Message); }
    }

    async Task StopWakingAsync()
    {
        if (!hasReminders) return;
        try
        {
            if (await this.GetReminder(WakeReminder) is { } reminder) await this.UnregisterReminder(reminder);
        }
        catch (Exception e) when (e is not OperationCanceledException) { LogReminderFailed(Id, "unregister", e.Message); }
    }

    /// <summary>One pass: poll the flight, retire or retry finished runs, submit from the queue, finish the sweep.</summary>
    async Task TickAsync(CancellationToken ct)
    {
        var status = Status;
        if (status.IsFinal) { StopTimer(); await StopWakingAsync(); return; }
        var spec = status.Spec!;
        var runs = status.Runs.ToBuilder();
        bool changed = false;

        for (int i = 0; i < runs.Count; i++)
        {
            var r = runs[i];
            if (r.RunId is not { } runId || r.State is null || r.State.Value.IsFinal()) continue;
            RunStatus run;
            try { run = await GrainFactory.GetRunStatusAsync(runId); }
            catch (Exception e) when (e is not OperationCanceledException) { LogPollFailed(runId, e.Message); continue; }
            var next = PolledRun.Observe(spec, r, runId, run); // progress; a finished run recorded, or queued again
            if (run.State is RunState.Completed or RunState.Failed or RunState.Cancelled) SweepFolder.WriteMetrics(status.Folder, r.Plan.Key, run);
            if (run.State == RunState.Completed) LogRunDone(Id, r.Plan.Key, next.ValLoss);
            else if (run.State is RunState.Failed or RunState.Cancelled) LogRunFailed(Id, r.Plan.Key, r.Attempts, run.Reason ?? "", PolledRun.Retried(spec, r, run));
            if (r.Plan.Trial is not null)
            {
                next = Search.SearchProgress.Observe(spec, runs, i, next, run, out bool stop);
                if (stop)
                {
                    try { await GrainFactory.CancelRunAsync(runId, $"stopped by ASHA at {next.StoppedAtTokens} tokens"); }
                    catch (Exception e) when (e is not OperationCanceledException) { LogPollFailed(runId, e.Message); }
                    SweepFolder.WriteMetrics(status.Folder, r.Plan.Key, run);
                }
            }
            if (next != r) { runs[i] = next; changed = true; }
        }

        int inFlight = runs.Count(r => r.State is { } s && !s.IsFinal());
        if (AutoLrRule.Due(spec, status.LrRule, runs))
        {
            var (rule, withLr) = AutoLrRule.Apply(spec, runs); // no rule: the queued lr: auto runs failed with the reason
            if (rule is not null) status = status with { LrRule = rule };
            runs = withLr.ToBuilder();
            changed = true;
        }
        foreach (int i in SubmitOrder.Of([.. runs.Select(x => x.Plan)]))
        {
            if (inFlight >= spec.Concurrency) break;
            var r = runs[i];
            var (submit, refusal, attempt, initFrom, parent) = QueuedRun.Of(r, runs, lrFitted: status.LrRule is not null);
            if (refusal is { } why)
            {
                runs[i] = r with { State = RunState.Failed, Failures = r.Failures.Add($"not started: {why}") };
                LogRunFailed(Id, r.Plan.Key, r.Attempts, why, false);
                changed = true;
                continue;
            }
            if (!submit) continue; // not queued, or waiting: for the lr rule, or for a branch's fork checkpoint
            try
            {
                var submitted = await GrainFactory.SubmitRunAsync(RunSpecs.For(spec, Id, status.Folder, r.Plan, attempt, initFrom, parent));
                runs[i] = r with { Attempts = attempt, RunId = submitted.Id, State = submitted.State, TotalSteps = submitted.TotalSteps, ParentRunId = parent };
                inFlight++;
            }
            catch (ArgumentException e)
            {
                // The coordinator refused the spec: retrying cannot help.
                runs[i] = r with { Attempts = attempt, State = RunState.Failed, Failures = r.Failures.Add($"refused: {e.Message}") };
                LogRunFailed(Id, r.Plan.Key, attempt, e.Message, false);
            }
            changed = true;
        }

        var final = runs.All(r => r.State is { } s && s.IsFinal());
        var updated = status with { Runs = runs.ToImmutable() };
        if (final)
        {
            updated = updated with
            {
                State = Search.SearchProgress.AllSucceeded(runs) ? SweepState.Completed : SweepState.CompletedWithFailures,
                EndedAt = time.GetUtcNow(),
            };
            LogSweepDone(Id, updated.Done, runs.Count);
        }
        if (changed || final)
        {
            current = updated;
            await SaveAsync();
        }
        if (final)
        {
            StopTimer();
            await StopWakingAsync();
        }
    }

    async Task SaveAsync()
    {
        store.State.Write(Status);
        await store.WriteStateAsync();
        SweepMetrics.Observe(Status, time.GetUtcNow());
        // The folder mirrors the state for reports and `orch fit`; a failing shared disk must not stop the sweep.
        try { SweepFolder.WriteStatus(Status); Search.SearchResults.Write(Status); }
        catch (IOException e) { LogFolderFailed(Status.Folder, e.Message); }
        catch (UnauthorizedAccessException e) { LogFolderFailed(Status.Folder, e.Message); }
    }

    [LoggerMessage(LogLevel.Warning, "sweep {SweepId}: its activation ended with {Done}/{Runs} runs done ({Reason}); it goes on at the next call or wake-up")]
    partial void LogDeactivated(string sweepId, int done, int runs, string reason);
    [LoggerMessage(LogLevel.Information, "sweep {SweepId} resumed: {Runs} runs queued again")]
    partial void LogResumed(string sweepId, int runs);
    [LoggerMessage(LogLevel.Information, "sweep {SweepId} launched: {Runs} runs, {Concurrency} at a time")]
    partial void LogLaunched(string sweepId, int runs, int concurrency);
    [LoggerMessage(LogLevel.Information, "sweep {SweepId}: run {Key} completed, loss {Loss}")]
    partial void LogRunDone(string sweepId, string key, double? loss);
    [LoggerMessage(LogLevel.Warning, "sweep {SweepId}: run {Key} attempt {Attempt} failed ({Reason}); retry: {Retry}")]
    partial void LogRunFailed(string sweepId, string key, int attempt, string reason, bool retry);
    [LoggerMessage(LogLevel.Information, "sweep {SweepId} finished: {Done}/{Runs} runs completed")]
    partial void LogSweepDone(string sweepId, int done, int runs);
    [LoggerMessage(LogLevel.Warning, "polling run {RunId} failed: {Error}")]
    partial void LogPollFailed(string runId, string error);
    [LoggerMessage(LogLevel.Information, "sweep {SweepId} resumed from its stored state: {Done}/{Runs} runs done")]
    partial void LogResumed(string sweepId, int done, int runs);
    [LoggerMessage(LogLevel.Warning, "sweep {SweepId}: cannot {Action} its wake-up reminder ({Error}); it runs on its timer, but a coordinator restart leaves it asleep until a call reaches it")]
    partial void LogReminderFailed(string sweepId, string action, string error);
    [LoggerMessage(LogLevel.Warning, "cannot write sweep folder {Folder}: {Error}")]
    partial void LogFolderFailed(string folder, string error);
}
