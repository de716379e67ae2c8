using Orchestrator.Contracts.Runs;
using Orchestrator.Coordinator.Runs;

namespace Orchestrator.Tests.Coordinator;

/// <summary>The schedule and fork keys of a RunSpec: parsed from YAML, and refused with the key named when they cannot work.</summary>
public sealed class ScheduleSpecTests
{
    const string Base = """
        name: branch
        data: /corpus
        steps: 100
        warmup_steps: 10
        checkpoint: { every: 20, keep: 2, path: /shared/runs, at: [40, 80] }
        """;

    [Fact]
    public void Wsd_branch_keys_parse()
    {
        var spec = RunSpecYaml.Parse(Base + """

            schedule: wsd
            cooldown_fraction: 0.25
            cooldown_shape: linear
            min_lr: 0.0001
            init_from: /shared/runs/trunk-1/ckpt-000075
            fork_step: 75
            parent: trunk-1
            """);
        Assert.Equal(("wsd", 0.25, "linear", 0.0001), (spec.Schedule, spec.CooldownFraction, spec.CooldownShape, spec.MinLr));
        Assert.Equal(("/shared/runs/trunk-1/ckpt-000075", 75, "trunk-1"), (spec.InitFrom, spec.ForkStep, spec.Parent));
        Assert.Equal(new[] { 40, 80 }, spec.Checkpoint.At.ToArray());
        Assert.Empty(RunSpecValidator.Problems(spec));
    }

    [Fact]
    public void Defaults_are_cosine_without_fork()
    {
        var spec = RunSpecYaml.Parse("name: x\ndata: /d\nsteps: 10\ncheckpoint: { path: /r }\n");
        Assert.Equal(("cosine", 0.2, "1-sqrt", null, null, null), (spec.Schedule, spec.CooldownFraction, spec.CooldownShape, spec.MinLr, spec.InitFrom, spec.ForkStep));
        Assert.Empty(spec.Checkpoint.At);
    }

    [Theory]
    [InlineData("schedule: wsd\ncooldown_fraction: 1.5\n", "cooldown_fraction: 1.5 must be inside (0, 1)")]
    [InlineData("schedule: wsd\ncooldown_fraction: 0.95\n", "cooldown_fraction: the cooldown of a 100-step run starts at step 5, before warmup ends at step 10")]
    [InlineData("schedule: linear\n", "schedule: 'linear' is not one of cosine, wsd, constant")]
    [InlineData("cooldown_shape: sqrt\n", "cooldown_shape: 'sqrt' is not one of linear, 1-sqrt, cosine")]
    [InlineData("min_lr: 0.5\n", "min_lr: 0.5 must be between 0 and the peak lr 0.001")]
    [InlineData("fork_step: 50\n", "fork_step: needs init_from")]
    [InlineData("init_from: runs/trunk\n", "init_from: 'runs/trunk' is not an absolute path")]
    [InlineData("init_from: /r/t\nfork_step: 100\n", "fork_step: 100 must be a step in 1..99")]
    public void Bad_schedule_or_fork_is_named(string extra, string problem)
    {
        var spec = RunSpecYaml.Parse(Base + "\n" + extra);
        Assert.Contains(RunSpecValidator.Problems(spec), p => p.StartsWith(problem, StringComparison.Ordinal));
    }

    [Fact]
    public void A_pinned_step_past_the_horizon_is_named()
    {
        var spec = RunSpecYaml.Parse(Base.Replace("at: [40, 80]", "at: [40, 180]"));
        Assert.Contains("checkpoint.at: step 180 is outside the run's 1..100", RunSpecValidator.Problems(spec));
    }
}
