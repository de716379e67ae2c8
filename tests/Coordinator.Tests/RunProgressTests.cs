using Orchestrator.Contracts.Runs;

namespace Orchestrator.Tests.Coordinator;

/// <summary>Elapsed time and ETA from a run's status: the rate over the last 30 s of reports of the current attempt.</summary>
public sealed class RunProgressTests
{
    static readonly DateTimeOffset T0 = new(2026, 12, 4, 8, 0, 0, TimeSpan.Zero);

    static MetricPoint At(double seconds, int step, double stepSeconds = 0.01) =>
        new(step, 3.0, 1000, null, T0.AddSeconds(seconds), StepSeconds: stepSeconds);

    [Fact]
    public void The_eta_uses_the_recent_rate_not_one_report()
    {
        // 10 steps/s for a minute, then 20 steps/s over the last 30 s; the last report alone says 100 steps/s.
        var history = Enumerable.Range(0, 61).Select(i => At(i, i * 10))
            .Concat(Enumerable.Range(1, 30).Select(i => At(60 + i, 600 + i * 20, i == 30 ? 0.01 : 0.05))).ToArray();
        var s = new RunStatus { State = RunState.Running, Step = 1200, TotalSteps = 3000, StartedAt = T0.AddSeconds(-5), History = [.. history] };
        Assert.Equal(20, RunProgress.StepsPerSecond(s)!.Value, 9);
        Assert.Equal(TimeSpan.FromSeconds(90), RunProgress.Eta(s));
        Assert.Equal(TimeSpan.FromSeconds(100), RunProgress.Elapsed(s, T0.AddSeconds(95)));
        Assert.Equal("1:30", RunProgress.Format(RunProgress.Eta(s)));
    }

    [Fact]
    public void A_restart_from_a_checkpoint_starts_a_new_stretch_and_an_ended_run_needs_no_time()
    {
        // Reports up to step 300, then the run restarted from step 200: only the new attempt's reports count.
        var history = new[] { At(0, 100), At(10, 200), At(20, 300), At(30, 210), At(31, 220), At(33, 240) };
        var s = new RunStatus { State = RunState.Running, Step = 240, TotalSteps = 1240, History = [.. history] };
        Assert.Equal(10, RunProgress.StepsPerSecond(s)!.Value, 9);
        Assert.Equal(TimeSpan.FromSeconds(100), RunProgress.Eta(s));
        Assert.Null(RunProgress.Elapsed(s, T0));
        // One report: its mean step time; none: unknown.
        Assert.Equal(TimeSpan.FromSeconds(10), RunProgress.Eta(s with { History = [At(0, 240, 0.01)] }));
        Assert.Null(RunProgress.Eta(s with { History = [] }));
        Assert.Equal(TimeSpan.Zero, RunProgress.Eta(s with { State = RunState.Completed }));
        Assert.Equal("-", RunProgress.Format(null));
        Assert.Equal("1:02:03", RunProgress.Format(new TimeSpan(1, 2, 3)));
    }
}
