using System.Collections.Immutable;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Worker.Hosting;

/// <summary>
/// The training thread of one worker slot. Waits for an assignment, rendezvous with the other ranks of its generation, then steps; at
/// every step boundary it checks the mailbox (a newer generation or a release wins), and it reports metrics in batches
/// (every ReportEvery, at checkpoints, at the end). Calls to the coordinator happen here, never in a grain turn;
/// when the coordinator is briefly unreachable the batch is kept and training goes on. Each generation's wall time is
/// split into phases (<see cref="PhaseClock"/>) that rank 0 reports with its last report. Every rank's reports carry
/// the lines logged in the generation's scope (<see cref="RunLogCapture"/>), so a rank with lines waiting reports too.
/// Invariant: a pause (the coordinator is gone) frees the slot within a step and one call, whatever the generation was
/// doing (at the rendezvous, training, finished and still telling the coordinator, failed and reporting it): nothing
/// waits for a coordinator that is not there, or the worker would stay in the dead cluster past its lease.
/// </summary>
sealed class TrainingLoop(WorkerRuntime rt, WorkerSlot slot)
{
    static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);
    readonly ILogger log = rt.Log;

    public void Run()
    {
        using var stream = rt.Options.Streams.UseStreamForThisThread(slot.Info.Device);
        RunAssignment? last = null;
        while (!rt.Stopping.IsCancellationRequested && !slot.Pausing)
        {
            var cmd = slot.Mailbox.Take(rt.Stopping);
            while (cmd is AssignCommand a && !rt.Stopping.IsCancellationRequested && !slot.Pausing)
            {
                // A copy of an assignment already taken (the coordinator resends to ranks late at a rendezvous) is not
                // a new generation: running it again would rendezvous anew into a generation the others are training.
                if (last is not null && a.Assignment.IsCopyOf(last)) break;
                last = a.Assignment;
                cmd = RunGeneration(a.Assignment);
            }
        }
    }

    /// <summary>Runs one generation of one run; returns the command that interrupted it, or null when it ended.</summary>
    WorkerCommand? RunGeneration(RunAssignment a)
    {
        using var scope = log.BeginScope("run {RunId} rank {Rank} generation {Generation}", a.RunId, a.Rank, a.Generation);
        var run = rt.Grains.GetGrain<IRunGrain>(a.RunId);
        var buffer = new ReportBuffer(slot.Info.Id, a, rt.RunLogs);
        var clock = new PhaseClock();
        ITrainingJob? job = null;
        try
        {
            slot.Busy = true;
            job = rt.Jobs.Create(a, new WorkerIdentity(slot.Info.Id, slot.Info.Device, slot.Info.Host));
            slot.SetCurrent(job, a);
            var bootstrap = job.PrepareBootstrap();
            clock.StartupDone();
            RendezvousReply reply;
            while (true)
            {
                if (slot.Pausing) return null;
                if (Interrupting(a) is { } c) return c;
                if (!TryCall(() => run.RendezvousAsync(new RendezvousRequest(slot.Info.Id, a.Generation, a.Rank, bootstrap)), out reply))
                    reply = new RendezvousReply(RendezvousOutcome.Waiting, []);
                if (reply.Outcome == RendezvousOutcome.Ready) break;
                if (reply.Outcome == RendezvousOutcome.Stale) return null;
                rt.Stopping.WaitHandle.WaitOne(Poll);
                if (rt.Stopping.IsCancellationRequested) return null;
            }
            clock.RendezvousDone();
            job.Start(reply.Bootstraps);
            clock.BuildDone();
            log.LogInformation("started at step {Step} of {Total} with {World} ranks", job.NextStep, a.TotalSteps, a.WorldSize);
            var lastReport = Stopwatch.StartNew();
            while (!rt.Stopping.IsCancellationRequested)
            {
                if (Interrupting(a) is { } c)
                {
                    Flush(run, buffer);
                    return c;
                }
                // A stretch asked to pause ends after its next step with a checkpoint; one asked to go on may end at a
                // report without one, so only the former ends the generation.
                bool pauseAsked = slot.Pausing;
                if (pauseAsked) job.Pause();
                var o = job.Step();
                clock.Stretch(o.Metrics);
                buffer.Add(o);
                if (o.Checkpoint is { } written) log.LogInformation("checkpoint step {Step}: this rank's shard written", written.Step);
                if (o.Finished) log.LogInformation("finished the run's {Total} steps", a.TotalSteps);
                if (pauseAsked && !o.Finished)
                {
                    // The coordinator is gone: the job stopped with a checkpoint; a new coordinator resumes from it.
                    Flush(run, buffer);
                    log.LogWarning("paused at step {Step}, which a checkpoint keeps: the coordinator is gone", job.NextStep - 1);
                    return null;
                }
                if (o.Finished && a.Rank == 0) buffer.Phases = clock.Phases();
                if (o.Finished || o.Checkpoint is not null || lastReport.Elapsed >= rt.Options.ReportEvery)
                {
                    lastReport.Restart();
                    var outcome = Flush(run, buffer);
                    clock.ReportDone();
                    if (outcome is ReportOutcome.Stale or ReportOutcome.Stop) return null;
                }
                if (o.Finished)
                {
                    // Done: make sure the coordinator heard it, then wait for the next command. Once the coordinator
                    // is gone (a pause) no one can hear it: the slot is freed at once, so the worker leaves within its
                    // lease, and the run resumes from its checkpoints as after any loss.
                    while (!buffer.IsEmpty && !rt.Stopping.IsCancellationRequested && !slot.Pausing)
                    {
                        if (Interrupting(a) is { } c2) return c2;
                        rt.Stopping.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(500));
                        Flush(run, buffer);
                    }
                    return null;
                }
            }
            return null;
        }
        catch (Exception e)
        {
            // Our own abort (a newer command arrived) is not a failure.
            if (Interrupting(a) is { } c) return c;
            if (rt.Stopping.IsCancellationRequested) return null;
            bool transient = JobFailures.IsTransient(e);
            log.LogError(e, "job failed ({Kind})", transient ? "transient" : "fatal");
            buffer.Fail(e.GetBaseException().Message, transient);
            for (int i = 0; i < 20 && !buffer.IsEmpty && !slot.Pausing && Flush(run, buffer) is null; i++)
                rt.Stopping.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(500));
            return null;
        }
        finally
        {
            slot.SetCurrent(null, null);
            job?.Dispose(); // waits for a checkpoint write in flight
            // Tensors of the ended run that nothing disposed are freed only when the GC finalizes them, and on a
            // device shared by packed runs each can keep a whole segment of the caching allocator from the next
            // runs: collect them now, once per run.
            if (job is not null)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
            SendLastLines(run, buffer);
            slot.Busy = false;
        }
    }

    /// <summary>The command that ends this generation now, if any (a release of another run is ignored, and so is a copy
    /// of this generation's own assignment, which the coordinator resends to a rank late at the rendezvous).</summary>
    WorkerCommand? Interrupting(RunAssignment a)
    {
        if (!slot.Mailbox.HasPending) return null;
        var c = slot.Mailbox.TryTake();
        if (c is ReleaseCommand r && r.RunId != a.RunId) return null;
        if (c is AssignCommand copy && copy.Assignment.IsCopyOf(a)) return null;
        return c;
    }

    /// <summary>Sends the buffered batch; keeps it when the coordinator is unreachable (returns null).</summary>
    ReportOutcome? Flush(IRunGrain run, ReportBuffer buffer)
    {
        if (buffer.IsEmpty) return ReportOutcome.Continue;
        var report = buffer.Peek();
        if (!TryCall(() => run.ReportAsync(report), out var outcome)) return null;
        buffer.Clear();
        return outcome;
    }

    /// <summary>
    /// Lines logged after the generation's last report (its end, a stale rendezvous) go in a report of their own; the run
    /// grain keeps lines of any generation. Skipped while the process stops or pauses (the coordinator may be gone).
    /// </summary>
    void SendLastLines(IRunGrain run, ReportBuffer buffer)
    {
        if (rt.Stopping.IsCancellationRequested || slot.Pausing || !buffer.HasLines) return;
        var lines = buffer.Peek();
        TryCall(() => run.ReportAsync(new ProgressReport { WorkerId = lines.WorkerId, Generation = lines.Generation, Rank = lines.Rank, Logs = lines.Logs }), out _);
    }

    bool TryCall<T>(Func<Task<T>> call, out T value)
    {
        try
        {
            value = call().WaitAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            log.LogWarning("coordinator call failed: {Error}", e.GetBaseException().Message);
            value = default!;
            return false;
        }
    }

    /// <summary>Steps, checkpoints and end state waiting to be reported; only rank 0 sends its step metrics.</summary>
    sealed class ReportBuffer(string workerId, RunAssignment a, RunLogCapture capture)
    {
        const int MaxSteps = 10_000;
        readonly List<MetricPoint> steps = [];
        readonly List<RunLogLine> logs = [];
        readonly List<CheckpointRef> checkpoints = [];
        bool finished;
        double? finalVal;
        string? error;

        /// <summary>Sent with the finishing report (rank 0).</summary>
        public RunPhases? Phases { get; set; }
        bool transient;

        public bool IsEmpty => steps.Count == 0 && checkpoints.Count == 0 && !finished && error is null && !HasLines;

        /// <summary>Log lines wait: taken from the capture but not yet sent, or still in the capture.</summary>
        public bool HasLines => logs.Count > 0 || capture.HasLines(a.RunId, a.Rank);

        public void Add(StepOutcome o)
        {
            if (a.Rank == 0)
            {
                steps.AddRange(o.Metrics);
                if (steps.Count > MaxSteps) steps.RemoveRange(0, steps.Count - MaxSteps);
            }
            if (o.Checkpoint is { } ck) checkpoints.Add(ck);
            if (o.Finished) { finished = true; finalVal = o.FinalValLoss; }
        }

        public void Fail(string message, bool isTransient) { error = message; transient = isTransient; }

        /// <summary>The report to send; the log lines waiting move into the buffer (kept until <see cref="Clear"/>).</summary>
        public ProgressReport Peek()
        {
            logs.AddRange(capture.Take(a.RunId, a.Rank));
            // An unreachable coordinator: the oldest lines go (the capture already told of its own drops).
            if (logs.Count > RunLogLimits.MaxPending) logs.RemoveRange(0, logs.Count - RunLogLimits.MaxPending);
            return new()
            {
                WorkerId = workerId, Generation = a.Generation, Rank = a.Rank, Steps = [.. steps], CheckpointsWritten = [.. checkpoints],
                Finished = finished, FinalValLoss = finalVal, Error = error, ErrorIsTransient = transient, Phases = finished ? Phases : null,
                Logs = [.. logs],
            };
        }

        public void Clear()
        {
            steps.Clear(); checkpoints.Clear(); logs.Clear(); finished = false; error = null;
        }
    }
}
