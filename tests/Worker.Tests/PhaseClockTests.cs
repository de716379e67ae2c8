using Orchestrator.Contracts.Runs;
using Orchestrator.Worker.Hosting;

namespace Orchestrator.Tests.Worker;

public sealed class PhaseClockTests
{
    static MetricPoint Step(int step, double seconds) => new(step, 1.0, 1000, null, DateTimeOffset.UnixEpoch, StepSeconds: seconds);

    [Fact]
    public void The_first_steps_excess_over_the_median_step_is_its_warm_up()
    {
        var clock = new PhaseClock();
        clock.StartupDone();
        clock.RendezvousDone();
        clock.BuildDone();
        clock.Stretch([Step(1, 0.5), Step(2, 0.1)]);
        clock.ReportDone();
        clock.Stretch([Step(3, 0.3), Step(4, 0.1)]);
        var p = clock.Phases();
        Assert.Equal(4, p.StepCount);
        Assert.Equal(0.4, p.FirstStep, 12);   // 0.5 - median(0.1, 0.3, 0.1)
        Assert.Equal(0.6, p.Steps, 12);       // 1.0 - 0.4
        // Wall time the trainer did not spend in steps is evaluation and checkpoints; none of it is negative.
        Assert.True(p.EvalAndCheckpoint >= 0 && p.Startup >= 0 && p.Reports >= 0);
        Assert.True(p.Total >= p.Startup + p.Rendezvous + p.Build + p.EvalAndCheckpoint + p.Reports);
    }

    [Fact]
    public void A_report_counts_every_step_of_its_window()
    {
        var clock = new PhaseClock();
        // The first step alone (its warm-up), then windows of 10 and 30 steps at their mean step time.
        clock.Stretch([Step(1, 0.5), new MetricPoint(11, 1.0, 1000, null, DateTimeOffset.UnixEpoch, StepSeconds: 0.1, WindowSteps: 10)]);
        clock.Stretch([new MetricPoint(41, 1.0, 1000, null, DateTimeOffset.UnixEpoch, StepSeconds: 0.1, WindowSteps: 30)]);
        var p = clock.Phases();
        Assert.Equal(41, p.StepCount);
        Assert.Equal(0.4, p.FirstStep, 12);
        Assert.Equal(0.5 + 4.0 - 0.4, p.Steps, 12);
    }
}
