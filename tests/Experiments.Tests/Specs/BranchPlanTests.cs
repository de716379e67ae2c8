using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;
using Orchestrator.Experiments.Planning;
using Orchestrator.Experiments.Specs;

namespace Orchestrator.Tests.Experiments.Specs;

/// <summary>The schedule keys of a sweep and the branching plan: trunks, fork steps, branches, and what is refused.</summary>
public sealed class BranchPlanTests
{
    const string Base = """
        name: b
        data: /d
        storage: /s
        models: [{ n_layer: 2, n_head: 2, n_embd: 64 }]
        batch: 4
        block_size: 32
        """;

    static SweepSpec Parse(string extra) => SweepSpecYaml.Parse(Base + "\n" + extra);

    [Fact]
    public void Wsd_branches_by_default_with_a_trunk_to_the_last_cooldown_start()
    {
        // 128 tokens a step: 1000, 2500 and 4000 steps; 20% cooldowns start at 800, 2000 and 3200.
        var spec = Parse("tokens: [128000, 320000, 512000]\nseeds: [1, 2]\nschedule: wsd\nwarmup_steps: 50\n");
        Assert.True(spec.Branching);
        var plan = SweepPlanner.Plan(spec);
        Assert.Equal(2 * 4, plan.Count);
        var trunk = plan[0];
        Assert.Equal(("L2-d64-h2-trunk-s1", RunRole.Trunk, 3200, 3200L * 128, 50), (trunk.Key, trunk.Role, trunk.Steps, trunk.Tokens, trunk.WarmupSteps));
        Assert.Equal(new[] { 800, 2000, 3200 }, trunk.ForkSteps!.Value.ToArray());
        var branches = plan.Skip(1).Take(3).ToList();
        Assert.Equal(new[] { "L2-d64-h2-D1.28e5-s1", "L2-d64-h2-D3.2e5-s1", "L2-d64-h2-D5.12e5-s1" }, branches.Select(b => b.Key));
        Assert.Equal(new[] { (1000, 800), (2500, 2000), (4000, 3200) }, branches.Select(b => (b.Steps, b.ForkStep!.Value)));
        Assert.All(branches, b => Assert.Equal((RunRole.Branch, trunk.Key, 50), (b.Role, b.Parent, b.WarmupSteps)));
        Assert.Equal("L2-d64-h2-trunk-s2", plan[4].Key);
    }

    [Fact]
    public void Flop_budgets_plan_the_same_way_and_branching_can_be_turned_off()
    {
        long n = 12L * 2 * 64 * 64;
        var spec = Parse($"flop_budgets: [{6.0 * n * 128000:R}, {6.0 * n * 256000:R}]\nschedule: wsd\ncooldown_fraction: 0.25\ncooldown_shape: linear\n");
        var plan = SweepPlanner.Plan(spec);
        Assert.Equal(new[] { RunRole.Trunk, RunRole.Branch, RunRole.Branch }, plan.Select(p => p.Role));
        Assert.Equal(new[] { 750, 1500 }, plan[0].ForkSteps!.Value.ToArray());
        Assert.All(plan.Skip(1), b => Assert.NotNull(b.FlopBudget));
        // Without a warmup given, one warmup for the trunk and its branches: the shortest run's default (1000/10).
        Assert.All(plan, p => Assert.Equal(100, p.WarmupSteps));

        var single = SweepPlanner.Plan(Parse("tokens: [128000]\nschedule: wsd\nbranching: false\n"));
        Assert.Equal(RunRole.Single, Assert.Single(single).Role);
        Assert.False(Parse("tokens: [128000]\n").Branching); // cosine
    }

    [Theory]
    [InlineData("tokens: [128000]\nschedule: wsd\ncooldown_fraction: 1.2\n", "cooldown_fraction 1.2 must be inside (0, 1)")]
    [InlineData("tokens: [128000]\nschedule: wsd\ncooldown_fraction: 0\n", "cooldown_fraction 0 must be inside (0, 1)")]
    [InlineData("tokens: [128000]\nbranching: true\n", "branching: true needs schedule: wsd")]
    [InlineData("tokens: [128000]\nschedule: constant\nbranching: true\n", "branching: true needs schedule: wsd")]
    [InlineData("tokens: [12800, 128000]\nschedule: wsd\nwarmup_steps: 90\n",
        "models[0] x tokens 1.28E+04: its cooldown starts at step 80 of 100 (cooldown_fraction 0.2), before warmup ends at step 90")]
    [InlineData("tokens: [12800]\nschedule: wsd\nbranching: false\nwarmup_steps: 90\n", "its cooldown starts at step 80 of 100")]
    [InlineData("tokens: [128000]\nschedule: steps\n", "schedule 'steps' is not one of cosine, wsd, constant")]
    [InlineData("tokens: [128000]\nschedule: wsd\ncooldown_shape: sqrt\n", "cooldown_shape 'sqrt' is not one of linear, 1-sqrt, cosine")]
    public void Bad_schedule_settings_are_named(string extra, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => Parse(extra));
        Assert.Contains(message, e.Message);
    }
}
