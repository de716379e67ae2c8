using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Coordinator.Telemetry;

/// <summary>
/// OpenTelemetry instruments of the control plane (meter "Orchestrator.Coordinator"), scraped by Prometheus from
/// the coordinator, named by Prometheus' conventions: counters end in `_total` (the exporter appends it), durations
/// are histograms in seconds, per-run series carry a `run` label. Per-run gauges read the latest status each run grain
/// of this silo published; an ended run's series keep their final values for <see cref="Retention"/>, so a scrape
/// sees how it ended instead of the series vanishing mid-interval.
/// </summary>
public sealed class CoordinatorMetrics : IDisposable
{
    public const string MeterName = "Orchestrator.Coordinator";
    /// <summary>How long an ended run's series stay exported.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromMinutes(10);

    readonly Meter meter = new(MeterName);
    readonly TimeProvider time;
    readonly ConcurrentDictionary<string, (RunStatus Status, DateTimeOffset? EndedAt)> runs = new();
    readonly Counter<long> submitted, generations, lost, ended, tokens;
    readonly Histogram<double> stepSeconds, checkpointSeconds;

    public CoordinatorMetrics(TimeProvider? time = null)
    {
        this.time = time ?? TimeProvider.System;
        submitted = meter.CreateCounter<long>("orch_runs_submitted", description: "Runs submitted");
        generations = meter.CreateCounter<long>("orch_generations_started", description: "Membership generations started (rendezvous)");
        lost = meter.CreateCounter<long>("orch_workers_lost", description: "Run members lost to failure detection");
        ended = meter.CreateCounter<long>("orch_runs_ended", description: "Runs that reached a final state, by state");
        tokens = meter.CreateCounter<long>("orch_run_tokens", description: "Tokens trained by all ranks of a run (steps a recovery repeats count again)");
        stepSeconds = meter.CreateHistogram<double>("orch_run_step_seconds", description: "Optimizer step wall time (each report's mean over its steps, counted once per step)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        checkpointSeconds = meter.CreateHistogram<double>("orch_checkpoint_seconds", description: "Wall time a rank's checkpoint took to write, as the rank reported it",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300] });
        meter.CreateObservableGauge("orch_run_step", () => Each(s => s.Step), description: "Last step reported by rank 0");
        meter.CreateObservableGauge("orch_run_total_steps", () => Each(s => s.TotalSteps), description: "The run's horizon in steps");
        meter.CreateObservableGauge("orch_run_loss", () => Each(s => s.Loss), description: "Last train loss (mean over the last report's steps)");
        meter.CreateObservableGauge("orch_run_val_loss", () => Each(s => s.ValLoss), description: "Last validation loss");
        meter.CreateObservableGauge("orch_run_lr", () => Each(s => s.LearningRate), description: "Learning rate of the last reported step");
        meter.CreateObservableGauge("orch_run_mfu", () => Each(s => s.Mfu), description: "Model FLOPs utilisation over the last report (0..1; absent on CPU)");
        meter.CreateObservableGauge("orch_run_tokens_per_second", () => Each(s => s.TokensPerSecond), description: "Tokens/s of the whole world over the last report");
        meter.CreateObservableGauge("orch_run_world_size", () => Each(s => s.WorldSize), description: "Ranks in the current generation");
        meter.CreateObservableGauge("orch_run_generation", () => Each(s => s.Generation), description: "Membership generation");
        meter.CreateObservableGauge("orch_run_state", States, description: "1 for the run's current state (label state), 0 for the others");
    }

    public void RunSubmitted() => submitted.Add(1);
    public void GenerationStarted() => generations.Add(1);
    public void WorkerLost() => lost.Add(1);

    /// <summary>A run grain's status after a report: its gauges, and its new tokens and step times.</summary>
    public void Observe(RunStatus status, IEnumerable<MetricPoint>? reported = null)
    {
        runs[status.Id] = (status, null);
        var run = new KeyValuePair<string, object?>("run", status.Id);
        foreach (var p in reported ?? [])
            if (p.StepSeconds > 0)
                for (int i = 0; i < Math.Max(1, p.WindowSteps); i++) stepSeconds.Record(p.StepSeconds, run);
        long delta = TokensSeen(status.Id, status.TokensTrained);
        if (delta > 0) tokens.Add(delta, run);
    }

    /// <summary>A rank's checkpoint write time (seconds), as it reported it.</summary>
    public void CheckpointWritten(string runId, double seconds) =>
        checkpointSeconds.Record(seconds, new KeyValuePair<string, object?>("run", runId));

    public void RunEnded(RunStatus status, RunState state)
    {
        runs[status.Id] = (status, time.GetUtcNow());
        ended.Add(1, new KeyValuePair<string, object?>("state", state.ToString()));
    }

    // The token counter follows TokensTrained upward only: after a recovery lowers it (back to a checkpoint), the
    // steps trained again count again, as work done.
    readonly ConcurrentDictionary<string, long> lastTokens = new();
    long TokensSeen(string runId, long now)
    {
        long before = lastTokens.GetValueOrDefault(runId);
        lastTokens[runId] = now;
        return now > before ? now - before : 0;
    }

    /// <summary>The runs whose series are exported now (ended ones until their retention passes, then forgotten).</summary>
    IReadOnlyList<RunStatus> Current()
    {
        var now = time.GetUtcNow();
        foreach (var (id, entry) in runs)
            if (entry.EndedAt is { } at && now - at > Retention && runs.TryRemove(id, out _))
                lastTokens.TryRemove(id, out _);
        return [.. runs.Values.Select(e => e.Status)];
    }

    IEnumerable<Measurement<double>> Each(Func<RunStatus, double?> pick) =>
        Current().Where(s => pick(s) is not null)
            .Select(s => new Measurement<double>(pick(s)!.Value, new KeyValuePair<string, object?>("run", s.Id)));

    IEnumerable<Measurement<int>> States() =>
        Current().SelectMany(s => Enum.GetValues<RunState>().Select(state => new Measurement<int>(s.State == state ? 1 : 0,
            new KeyValuePair<string, object?>("run", s.Id), new KeyValuePair<string, object?>("state", state.ToString()))));

    public void Dispose() => meter.Dispose();
}
