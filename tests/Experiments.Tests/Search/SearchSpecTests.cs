using Orchestrator.Contracts.Experiments;
using Orchestrator.Experiments.Search;
using Orchestrator.Experiments.Specs;

namespace Orchestrator.Tests.Experiments.Search;

public sealed class SearchSpecTests
{
    static string Yaml(string search, string lr = "1e-3") => $"""
        name: s
        data: /d
        storage: /s
        params: [2e4, 2e5]
        tokens: [2e5]
        batch: 4
        block_size: 32
        lr: {lr}
        search:
        {search}
        """;

    [Fact]
    public void A_grid_spans_every_combination_for_every_model_and_asha_rungs_come_from_min_tokens()
    {
        var spec = SweepSpecYaml.Parse(Yaml("""
              tokens: 1e5
              lr: { min: 1e-4, max: 1e-2, points: 3 }
              batch: { values: [4, 8] }
              early_stop: { method: asha, min_tokens: 1e4, reduction_factor: 3 }
            """));
        var search = spec.Search!;
        Assert.Equal([10_000L, 30_000L, 90_000L], search.EarlyStop!.Rungs.ToArray());
        var plan = SearchProgress.Plan(spec);
        var trials = plan.Where(p => p.Trial is not null).ToArray();
        Assert.Equal(2 * 3 * 2, trials.Length);
        Assert.Equal(2, plan.Count(p => p.Trial is null));
        var lrs = trials.Take(6).Select(t => t.Trial!.Lr).ToArray();
        Assert.Equal([1e-4, 1e-4, 1e-3, 1e-3, 1e-2, 1e-2], lrs, (a, b) => Math.Abs(a - b) < 1e-15);
        Assert.Equal([4, 8, 4, 8, 4, 8], trials.Take(6).Select(t => t.Trial!.Batch));
        Assert.Equal(782, trials[0].Steps); // ceil(1e5 / (4 x 32))
        Assert.Equal(391, trials[1].Steps);
        Assert.All(trials, t => Assert.Equal(t.Lr, t.Trial!.Lr));
    }

    [Fact]
    public void Random_search_is_seeded_log_uniform_in_lr_and_lr_auto_marks_the_scaling_runs()
    {
        string yaml = Yaml("""
              method: random
              trials: 20
              seed: 7
              lr: { min: 1e-4, max: 1e-2 }
              beta2: { values: [0.95, 0.99] }
            """, lr: "auto");
        var a = SearchProgress.Plan(SweepSpecYaml.Parse(yaml));
        var b = SearchProgress.Plan(SweepSpecYaml.Parse(yaml));
        Assert.Equal(a, b);
        var trials = a.Where(p => p.Trial is not null).ToArray();
        Assert.Equal(40, trials.Length);
        Assert.All(trials, t => Assert.InRange(t.Trial!.Lr, 1e-4, 1e-2));
        Assert.All(trials, t => Assert.Contains(t.Trial!.Beta2!.Value, new[] { 0.95, 0.99 }));
        Assert.Contains(trials, t => t.Trial!.Lr < 1e-3); // log-uniform: about half below the geometric middle
        Assert.Contains(trials, t => t.Trial!.Lr > 1e-3);
        Assert.All(a.Where(p => p.Trial is null), p => Assert.True(p.LrAuto && p.Lr == 0));
        Assert.Equal(200_000, trials[0].Tokens); // search.tokens defaults to the largest token budget
    }

    [Theory]
    [InlineData("  lr: { min: 1e-4, max: 1e-2, points: 3 }\n  learning_rate: 3", "unknown key 'learning_rate' in search (known keys: ")]
    [InlineData("  lr: { min: 1e-2, max: 1e-2, points: 3 }", "search.lr: the range [0.01, 0.01] is empty")]
    [InlineData("  lr: { min: 1e-4, max: 1e-2, step: 3 }", "unknown key 'step' in search.lr (known keys: values, min, max, points)")]
    [InlineData("  lr: { values: [] }", "search.lr.values is empty")]
    [InlineData("  lr: { min: 1e-4, max: 1e-2 }", "search.lr: a grid needs points: K")]
    [InlineData("  method: random\n  lr: { min: 1e-4, max: 1e-2 }", "search.trials is missing")]
    [InlineData("  beta2: { values: [0.9, 1.5] }", "search.beta2.values: 1.5 must be in (0, 1)")]
    [InlineData("  warmup_steps: { min: 0.2, max: 0.7 }", "search.warmup_steps: the range [0.2, 0.7] holds no whole number")]
    [InlineData("  warmup: { values: [0, 20] }", "warmup was renamed warmup_steps")]
    [InlineData("  tokens: 1e5\n  lr: { values: [1e-3] }\n  early_stop: { rungs: [1e4, 2e5] }", "search.early_stop.rungs[1] = 2E+05 tokens is beyond the trial budget (search.tokens 1E+05)")]
    [InlineData("  tokens: 1e5\n  lr: { values: [1e-3] }\n  early_stop: { min_tokens: 1e5 }", "search.early_stop.min_tokens 1E+05 is beyond the trial budget")]
    [InlineData("  lr: { values: [1e-3] }\n  early_stop: { method: hyperband, min_tokens: 1e4 }", "search.early_stop.method 'hyperband' is not asha")]
    [InlineData("  lr: { values: [1e-3] }\n  early_stop: { min_tokens: 1e4, reduction_factor: 1 }", "reduction_factor 1 must be in 2..100")]
    [InlineData("  batch: { values: [4] }", "lr: auto fits LR*(N) to a search's best trials: it needs a search over lr")]
    [InlineData("  method: random\n  trials: 5000\n  lr: { min: 1e-4, max: 1e-2 }", "search.trials 5000 must be in 1..4096")]
    public void Bad_search_input_is_a_clear_error(string search, string expected)
    {
        string lr = expected.StartsWith("lr: auto") ? "auto" : "1e-3";
        var e = Assert.Throws<InvalidDataException>(() => SweepSpecYaml.Parse(Yaml(search, lr), "sweep.yaml"));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("sweep.yaml", e.Message);
    }
}
