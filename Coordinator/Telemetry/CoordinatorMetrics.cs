using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Coordinator.Telemetry;

/// <summary>
/// OpenTelemetry instruments of the control plane (meter "Orchestrator.Coordinator"), scraped by Prometheus from
/// the coordinator. Per-run gauges read the latest status each run grain of this silo published.
/// </summary>
public sealed class CoordinatorMetrics : IDisposable
{
    public const string MeterName = "Orchestrator.Coordinator";
    readonly Meter meter = new(MeterName);
    readonly ConcurrentDictionary<string, RunStatus> live = new();
    readonly Counter<long> submitted, epochs, lost, ended;

    public CoordinatorMetrics()
    {
        submitted = meter.CreateCounter<long>("orch_runs_submitted", description: "Runs submitted");
        epochs = meter.CreateCounter<long>("orch_epochs_started", description: "Membership epochs started (rendezvous)");
        lost = meter.CreateCounter<long>("orch_workers_lost", description: "Run members lost to failure detection");
        ended = meter.CreateCounter<long>("orch_runs_ended", description: "Runs that reached a final state, by state");
        meter.CreateObservableGauge("orch_run_step", () => Each(s => s.Step), description: "Last step reported by rank 0");
        meter.CreateObservableGauge("orch_run_loss", () => Each(s => s.Loss ?? double.NaN), description: "Last train loss");
        meter.CreateObservableGauge("orch_run_tokens_per_second", () => Each(s => s.TokensPerSecond ?? 0), description: "Tokens/s of the whole world");
        meter.CreateObservableGauge("orch_run_world_size", () => Each(s => s.WorldSize), description: "Ranks in the current epoch");
        meter.CreateObservableGauge("orch_run_epoch", () => Each(s => s.Epoch), description: "Membership epoch");
    }

    public void RunSubmitted() => submitted.Add(1);
    public void EpochStarted() => epochs.Add(1);
    public void WorkerLost() => lost.Add(1);
    public void Observe(RunStatus status) => live[status.Id] = status;

    public void RunEnded(RunStatus status, RunState state)
    {
        live.TryRemove(status.Id, out _);
        ended.Add(1, new KeyValuePair<string, object?>("state", state.ToString()));
    }

    IEnumerable<Measurement<double>> Each(Func<RunStatus, double> pick) =>
        live.Values.Select(s => new Measurement<double>(pick(s), new KeyValuePair<string, object?>("run", s.Id)));

    public void Dispose() => meter.Dispose();
}
