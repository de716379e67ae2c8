using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;
using Orchestrator.Experiments.Search;
using Orchestrator.Experiments.Specs;
using Orchestrator.Experiments.Sweeps;

namespace Orchestrator.Tests.Experiments.Search;

public sealed class LrRuleTests
{
    static BestTrial At(long n, double lr) => new(n, $"n{n}", new TrialConfig(0, lr, 0, null, null, 8), 3.0);

    [Fact]
    public void Fits_the_power_law_exactly_through_points_on_it_with_a_tight_interval()
    {
        // lr* = 0.5 · N^-0.5 at five sizes, with a little deterministic noise on three of them.
        long[] sizes = [10_000, 30_000, 100_000, 300_000, 1_000_000];
        double[] noise = [1, 1.02, 1, 0.98, 1];
        var rule = LrRule.Fit([.. sizes.Select((n, i) => At(n, 0.5 * Math.Pow(n, -0.5) * noise[i]))]);
        Assert.Equal(-0.5, rule.Exponent, 0.02);
        Assert.True(rule.ExponentLow < rule.Exponent && rule.Exponent < rule.ExponentHigh);
        Assert.True(rule.ExponentHigh - rule.ExponentLow < 0.1);
        Assert.Equal(0.5 * Math.Pow(2e5, -0.5), rule.LrAt(2e5), 0.05 * rule.LrAt(2e5));
    }

    [Fact]
    public void Two_sizes_give_the_line_through_them_without_an_interval_and_one_size_is_an_error()
    {
        var rule = LrRule.Fit([At(10_000, 1e-3), At(1_000_000, 1e-4)]);
        Assert.Equal(-0.5, rule.Exponent, 1e-12);
        Assert.Equal(1e-3, rule.LrAt(10_000), 1e-15);
        Assert.True(double.IsNaN(rule.ExponentLow));
        var e = Assert.Throws<ArgumentException>(() => LrRule.Fit([At(10_000, 1e-3)]));
        Assert.Contains("2 or more sizes", e.Message);
    }

    [Fact]
    public void A_searched_batch_is_fitted_with_the_lr_and_sets_the_scaling_runs_batch_and_steps()
    {
        // Best trials: (N, lr, batch) on lr = 0.1·N^-0.25 and batch = N^0.25 / 2.5 (10, 20, 40 at the three sizes).
        long[] sizes = [10_000, 160_000, 2_560_000];
        var best = sizes.Select((n, i) => new BestTrial(n, $"n{n}", new TrialConfig(0, 0.1 * Math.Pow(n, -0.25), 0, null, null, 4 * (int)Math.Pow(2, i)), 3.0)).ToList();
        var rule = LrRule.Fit(best, fitBatch: true);
        Assert.Equal(-0.25, rule.Exponent, 1e-9);
        Assert.Equal(0.25, rule.BatchExponent!.Value, 1e-9);
        Assert.Equal(8, rule.BatchAt(160_000));
        Assert.Equal([4.0, 8.0, 16.0], rule.BestBatches.ToArray());
        Assert.Null(LrRule.Fit(best).BatchAt(160_000)); // without a searched batch: no batch rule

        // Through the sweep: two sizes searched over lr x batch; the best trial of each picks another batch; the
        // lr: auto scaling runs get the fitted lr and batch (kept within the searched 8..32) and steps for their tokens.
        var spec = SweepSpecYaml.Parse("""
            name: s
            data: /d
            storage: /s
            models: [{ n_layer: 1, n_head: 2, n_embd: 32 }, { n_layer: 2, n_head: 2, n_embd: 64 }]
            tokens: [3e5]
            block_size: 16
            lr: auto
            search: { lr: { values: [1e-3, 3e-3] }, batch: { values: [8, 32] }, tokens: 1e5 }
            """);
        var runs = SearchProgress.Plan(spec).Select(p => new SweepRunStatus { Plan = p }).ToList();
        var trials = runs.Where(r => r.Plan.Trial is not null).ToList();
        Assert.Equal(8, trials.Count);
        long small = trials.Min(r => r.Plan.NonEmbeddingParams), large = trials.Max(r => r.Plan.NonEmbeddingParams);
        // Small model: best at lr 3e-3, batch 8; large: lr 1e-3, batch 32.
        double Loss(PlannedRun p) => p.NonEmbeddingParams == small
            ? (p.Trial!.Lr == 3e-3 && p.Trial.Batch == 8 ? 2.0 : 3.0)
            : (p.Trial!.Lr == 1e-3 && p.Trial.Batch == 32 ? 2.0 : 3.0);
        runs = [.. runs.Select(r => r.Plan.Trial is null ? r : r with { State = RunState.Completed, ValLoss = Loss(r.Plan) })];
        var (fit, applied) = SearchProgress.ApplyLrRule(spec, runs);
        Assert.Equal(Math.Log(32.0 / 8) / Math.Log((double)large / small), fit.BatchExponent!.Value, 1e-9);
        foreach (var r in applied.Where(r => r.Plan.LrAuto))
        {
            int batch = r.Plan.NonEmbeddingParams == small ? 8 : 32;
            Assert.Equal(batch, r.Plan.Batch);
            Assert.Equal(r.Plan.NonEmbeddingParams == small ? 3e-3 : 1e-3, r.Plan.Lr, 1e-12);
            Assert.Equal((int)Math.Ceiling(3e5 / (batch * 16)), r.Plan.Steps);
            Assert.Equal(batch, RunSpecs.For(spec, "id", "/s/f", r.Plan, 1).Batch);
        }
        var e = Assert.Throws<InvalidDataException>(() => SweepSpecYaml.Parse("""
            name: s
            data: /d
            storage: /s
            models: [{ n_layer: 1, n_head: 2, n_embd: 32 }, { n_layer: 2, n_head: 2, n_embd: 64 }]
            tokens: [3e5]
            block_size: 16
            lr: auto
            schedule: wsd
            search: { lr: { values: [1e-3, 3e-3] }, batch: { values: [8, 32] }, tokens: 1e5 }
            """, "s.yaml"));
        Assert.Contains("which a branching sweep's fork steps cannot follow", e.Message);
    }
}
