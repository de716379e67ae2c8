using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Experiments.Sweeps;

/// <summary>
/// Sweep progress for Prometheus (meter "Orchestrator.Experiments", exported by the coordinator beside its own):
/// `orch_sweep_runs{sweep, state}` counts a sweep's runs by state (queued, running, completed, failed, cancelled) and
/// `orch_sweep_runs_planned{sweep}` is their number. Process-wide, as a meter is: every experiment grain of this silo
/// publishes its status here when it saves it; a finished sweep's series stay for <see cref="Retention"/>.
/// </summary>
public static class SweepMetrics
{
    public const string MeterName = "Orchestrator.Experiments";
    public static readonly TimeSpan Retention = TimeSpan.FromMinutes(10);

    static readonly Meter Meter = new(MeterName);
    static readonly ConcurrentDictionary<string, (SweepStatus Status, DateTimeOffset? EndedAt)> Sweeps = new();
    static readonly string[] States = ["queued", "running", "completed", "failed", "cancelled"];

    static SweepMetrics()
    {
        Meter.CreateObservableGauge("orch_sweep_runs", ByState, description: "A sweep's runs by state");
        Meter.CreateObservableGauge("orch_sweep_runs_planned", () => Current().Select(s =>
            new Measurement<int>(s.Runs.Length, new KeyValuePair<string, object?>("sweep", s.Id))), description: "Runs a sweep planned");
    }

    public static void Observe(SweepStatus status, DateTimeOffset now) =>
        Sweeps[status.Id] = (status, status.IsFinal ? Sweeps.TryGetValue(status.Id, out var e) && e.EndedAt is { } at ? at : now : null);

    /// <summary>The state label of one run of a sweep.</summary>
    public static string StateOf(SweepRunStatus r) => r.State switch
    {
        null => "queued",
        RunState.Completed => "completed",
        RunState.Failed => "failed",
        RunState.Cancelled => "cancelled",
        _ => "running",
    };

    static IEnumerable<Measurement<int>> ByState() => Current().SelectMany(s =>
    {
        var counts = s.Runs.GroupBy(StateOf).ToDictionary(g => g.Key, g => g.Count());
        return States.Select(state => new Measurement<int>(counts.GetValueOrDefault(state),
            new KeyValuePair<string, object?>("sweep", s.Id), new KeyValuePair<string, object?>("state", state)));
    });

    static List<SweepStatus> Current()
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var (id, e) in Sweeps)
            if (e.EndedAt is { } at && now - at > Retention) Sweeps.TryRemove(id, out _);
        return [.. Sweeps.Values.Select(e => e.Status)];
    }
}
