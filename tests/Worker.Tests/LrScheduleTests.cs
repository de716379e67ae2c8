using Orchestrator.Contracts.Runs;
using Orchestrator.Worker.Training;

namespace Orchestrator.Tests.Worker;

/// <summary>Every schedule against its formula, step by step (the formulas are written out here independently).</summary>
public sealed class LrScheduleTests
{
    const double Peak = 1e-3, Min = 1e-5;

    [Fact]
    public void Cooldown_start_is_the_horizon_less_the_rounded_fraction()
    {
        Assert.Equal(80, LrScheduleSpec.CooldownStart(100, 0.2));
        Assert.Equal(8, LrScheduleSpec.CooldownStart(10, 0.2));
        Assert.Equal(7, LrScheduleSpec.CooldownStart(9, 0.25));     // 2.25 rounds to 2
        Assert.Equal(6, LrScheduleSpec.CooldownStart(10, 0.35));    // 3.5 rounds away from zero to 4
        Assert.Equal(2, LrScheduleSpec.CooldownStart(3, 0.01));     // at least one cooldown step
    }

    [Theory]
    [InlineData(LrScheduleSpec.Linear)]
    [InlineData(LrScheduleSpec.OneMinusSqrt)]
    [InlineData(LrScheduleSpec.CosineShape)]
    public void Wsd_warms_up_holds_the_peak_then_cools_down_by_its_shape(string shape)
    {
        const int warmup = 10, horizon = 200;
        var s = new LrSchedule(Peak, Min, warmup, horizon, LrScheduleSpec.Wsd, 0.25, shape);
        Assert.Equal(150, s.CooldownStart);
        for (int step = 0; step < 260; step++)
        {
            double expected;
            if (step < warmup) expected = Peak * (step + 1) / (warmup + 1);
            else if (step < 150) expected = Peak;
            else if (step >= horizon) expected = Min;
            else
            {
                double p = (step - 150) / 50.0;
                double g = shape switch { "linear" => 1 - p, "1-sqrt" => 1 - Math.Sqrt(p), _ => (1 + Math.Cos(Math.PI * p)) / 2 };
                expected = Min + g * (Peak - Min);
            }
            Assert.Equal(expected, s.At(step), 15);
        }
        // Spot value, a quarter into a 40-step cooldown (start 160): linear 0.75, 1-sqrt 0.5, cosine 0.854 of the way.
        var q = new LrSchedule(1.0, 0, 0, 200, LrScheduleSpec.Wsd, 0.2, shape);
        Assert.Equal(shape switch { "linear" => 0.75, "1-sqrt" => 0.5, _ => 0.8535533905932737 }, q.At(170), 12);
    }

    [Fact]
    public void Wsd_before_its_cooldown_equals_constant_whatever_the_horizon()
    {
        var constant = new LrSchedule(Peak, Min, 7, 1000, LrScheduleSpec.Constant);
        foreach (int horizon in new[] { 40, 90, 400 })
        {
            var wsd = new LrSchedule(Peak, 0, 7, horizon, LrScheduleSpec.Wsd, 0.2, LrScheduleSpec.OneMinusSqrt);
            for (int step = 0; step < wsd.CooldownStart; step++) Assert.Equal(constant.At(step), wsd.At(step)); // bit-equal, not close
        }
        Assert.Equal(Peak, constant.At(5000));
    }

    [Fact]
    public void Cosine_is_nanoGPTs_get_lr()
    {
        var s = new LrSchedule(Peak, Min, 10, 110);
        for (int step = 0; step < 130; step++)
        {
            double expected = step < 10 ? Peak * (step + 1) / 11
                : step >= 110 ? Min
                : Min + 0.5 * (1 + Math.Cos(Math.PI * (step - 10) / 100.0)) * (Peak - Min);
            Assert.Equal(expected, s.At(step), 15);
        }
    }

    [Theory]
    [InlineData("wsd", 0.0, "1-sqrt", 100, 10, "--cooldown-fraction: 0 must be inside (0, 1)")]
    [InlineData("wsd", 1.0, "1-sqrt", 100, 10, "--cooldown-fraction: 1 must be inside (0, 1)")]
    [InlineData("wsd", 0.5, "1-sqrt", 100, 60, "the cooldown of a 100-step run starts at step 50, before warmup ends at step 60")]
    [InlineData("step", 0.2, "1-sqrt", 100, 10, "--schedule: 'step' is not one of cosine, wsd, constant")]
    [InlineData("wsd", 0.2, "sqrt", 100, 10, "--cooldown-shape: 'sqrt' is not one of linear, 1-sqrt, cosine")]
    public void Bad_settings_are_refused_with_the_flag_named(string schedule, double fraction, string shape, int steps, int warmup, string message)
    {
        var o = new TrainOptions { Schedule = schedule, CooldownFraction = fraction, CooldownShape = shape, Steps = steps, WarmupSteps = warmup };
        var e = Assert.Throws<ArgumentException>(() => o.Validate());
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Wsd_floor_defaults_to_zero_and_cosine_to_a_tenth()
    {
        Assert.Equal(0, new TrainOptions { Schedule = "wsd", LearningRate = 1e-3 }.MinLr);
        Assert.Equal(1e-4, new TrainOptions { Schedule = "cosine", LearningRate = 1e-3 }.MinLr, 15);
    }
}
