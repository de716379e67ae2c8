using System.Diagnostics.Metrics;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Contracts.Runs;
using Orchestrator.Coordinator.Telemetry;

namespace Orchestrator.Tests.Coordinator;

/// <summary>
/// The coordinator's instruments as a scrape sees them: tokens only ever count up (a recovery's repeated steps count
/// again), step times are recorded once per step of a report's window, and an ended run's series stay for the
/// retention period, then go.
/// </summary>
public sealed class CoordinatorMetricsTests
{
    [Fact]
    public void Tokens_count_up_step_times_per_step_and_ended_runs_linger_for_the_retention()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 8, 0, 0, TimeSpan.Zero));
        using var metrics = new CoordinatorMetrics(time);
        var longs = new List<(string Name, long Value, string? Run)>();
        var doubles = new List<(string Name, double Value, string? Run)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (i, l) => { if (i.Meter.Name == CoordinatorMetrics.MeterName) l.EnableMeasurementEvents(i); };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => longs.Add((i.Name, v, Run(tags))));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => doubles.Add((i.Name, v, Run(tags))));
        listener.SetMeasurementEventCallback<int>((i, v, tags, _) => doubles.Add((i.Name, v, Run(tags))));
        listener.Start();

        var run = new RunStatus { Id = "r1", State = RunState.Running, Step = 10, TotalSteps = 100, TokensTrained = 1000, LearningRate = 1e-3 };
        metrics.Observe(run, [new MetricPoint(10, 3.0, 100, null, time.GetUtcNow(), StepSeconds: 0.01, WindowSteps: 10)]);
        metrics.Observe(run with { Step = 20, TokensTrained = 2000 }, []);
        // A recovery back to step 15 (fewer tokens), then training on: only growth counts.
        metrics.Observe(run with { Step = 15, TokensTrained = 1500 }, []);
        metrics.Observe(run with { Step = 25, TokensTrained = 2500 }, []);
        // Only this test's run: the meter name is shared with the coordinators other tests run at the same time.
        Assert.Equal([1000L, 1000, 1000], longs.Where(m => m.Name == "orch_run_tokens" && m.Run == "r1").Select(m => m.Value));
        Assert.Equal(10, doubles.Count(m => m.Name == "orch_run_step_seconds" && m.Run == "r1" && m.Value == 0.01));

        metrics.RunEnded(run with { State = RunState.Completed, Step = 100 }, RunState.Completed);
        time.Advance(CoordinatorMetrics.Retention - TimeSpan.FromSeconds(1));
        doubles.Clear();
        listener.RecordObservableInstruments();
        Assert.Contains(("orch_run_step", 100.0, "r1"), doubles);
        Assert.Contains(("orch_run_lr", 1e-3, "r1"), doubles);
        Assert.Contains(("orch_run_state", 1.0, "r1"), doubles);

        time.Advance(TimeSpan.FromSeconds(2));
        doubles.Clear();
        listener.RecordObservableInstruments();
        Assert.DoesNotContain(doubles, m => m.Run == "r1");
    }

    static string? Run(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var t in tags) if (t.Key == "run") return t.Value as string;
        return null;
    }
}
