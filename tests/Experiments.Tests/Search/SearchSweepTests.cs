using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;
using Orchestrator.Experiments.Search;
using Orchestrator.Experiments.Specs;
using Orchestrator.Experiments.Sweeps;
using Orchestrator.Tests.Experiments.Sweeps;

namespace Orchestrator.Tests.Experiments.Search;

[Collection(nameof(SweepClusterCollection))]
public sealed class SearchSweepTests(SweepClusterFixture fx)
{
    /// <summary>
    /// A searched sweep on the embedded cluster: 5 learning rates per size, one trial worker killed mid-run and retried,
    /// ASHA stopping the trials that lose at a rung (their curves kept, not retried, not failures), the best lr per
    /// size reported, and the scaling runs (lr: auto) run with the power law fitted to those best lrs.
    /// </summary>
    [Fact]
    public async Task A_searched_sweep_stops_losing_trials_retries_a_killed_one_and_runs_the_scaling_runs_at_the_fitted_lr()
    {
        var grains = fx.Cluster.Client;
        var spec = SweepSpecYaml.Parse($"""
            name: searched
            data: /data/none
            storage: {fx.Storage}
            params: [1e4, 1e5, 1e6]
            tokens: [2e5, 8e5]
            batch: 4
            block_size: 32
            concurrency: 1
            retries: 1
            trainer: light
            lr: auto
            options: {"{"} fake_lr_opt: "1e-3" {"}"}
            search:
              tokens: 2e5
              lr: {"{"} min: 1e-4, max: 1e-2, points: 5 {"}"}
              early_stop: {"{"} method: asha, min_tokens: 3e4, reduction_factor: 3 {"}"}
            """);
        var plan = SearchProgress.Plan(spec);
        Assert.Equal(15 + 6, plan.Count);
        string killed = plan[2].Key; // the smallest size's lr 1e-3 trial: the best one
        FakeCoordinator.FailOnce[killed] = 0;

        await grains.LaunchSweepAsync(spec, "searched-1");
        SweepStatus final = null!;
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            await foreach (var s in grains.WatchSweepAsync("searched-1", TimeSpan.FromMilliseconds(50), cts.Token)) final = s;

        Assert.Equal(SweepState.Completed, final.State);
        Assert.Equal(0, final.Failed);
        var trials = final.Runs.Where(r => r.Plan.Trial is not null).ToArray();
        var retried = Assert.Single(trials, r => r.Plan.Key == killed);
        Assert.Equal(2, retried.Attempts);
        Assert.Equal(RunState.Completed, retried.State);
        Assert.EndsWith("Failed: worker crashed (injected)", Assert.Single(retried.Failures));

        // Trials reach the rungs one at a time in plan order (concurrency 1), lr ascending, all at the same steps, so
        // only the lr penalty orders them. The best lr is trial 2 at the smallest size, 1 at the middle, 0 at the
        // largest. At the first rung (3e4 tokens) trial 0 goes on (alone), each later one goes on only while no earlier
        // one is at least as good (n <= 5 keeps 1): past the best, every trial is stopped there. The killed trial had
        // recorded that rung before it was killed; its retry goes on from it. Nothing is stopped at the second rung:
        // the survivors reach it in the order best-last, each better than those before.
        var stopped = trials.Where(r => r.StoppedAtTokens is not null).Select(r => r.Plan.Key).Order().ToArray();
        var sizes = plan.Select(p => p.NonEmbeddingParams).Distinct().Order().ToArray();
        var expectedStops = plan.Where(p => p.Trial is { } t && t.Index > 2 - Array.IndexOf(sizes, p.NonEmbeddingParams)).Select(p => p.Key).Order().ToArray();
        Assert.Equal(9, expectedStops.Length);
        Assert.Equal(expectedStops, stopped);
        Assert.All(trials.Where(r => r.StoppedAtTokens is not null), r => Assert.Equal(30_000, r.StoppedAtTokens));
        Assert.All(trials.Where(r => r.StoppedAtTokens is not null), r =>
        {
            Assert.Equal(RunState.Cancelled, r.State);
            Assert.Equal(1, r.Attempts);
            Assert.Contains(r.StoppedAtTokens!.Value, spec.Search!.EarlyStop!.Rungs);
            Assert.True(File.Exists(SweepFolder.MetricsFile(final.Folder, r.Plan.Key)));
        });
        Assert.All(trials.Where(r => r.StoppedAtTokens is null), r => Assert.Equal(RunState.Completed, r.State));

        // Best lr per size: the grid point nearest the fake's optimum 1e-3·(N/1e4)^-0.5.
        var best = SearchResults.BestPerSize(final.Runs);
        Assert.Equal(3, best.Count);
        foreach (var b in best)
        {
            double optimum = 1e-3 * Math.Pow(b.N / 1e4, -0.5);
            var grid = new[] { 1e-4, 1e-4 * Math.Sqrt(10), 1e-3, 1e-3 * Math.Sqrt(10), 1e-2 };
            double nearest = grid.MinBy(g => Math.Abs(Math.Log(g / optimum)));
            Assert.Equal(nearest, b.Config.Lr, nearest * 1e-9);
        }

        // lr: auto: the rule is fitted to those best lrs, and every scaling run ran at the rule's lr for its size.
        var rule = Assert.IsType<LrRuleFit>(final.LrRule);
        var refit = LrRule.Fit(best);
        Assert.Equal((refit.Coefficient, refit.Exponent), (rule.Coefficient, rule.Exponent));
        Assert.Equal(best.Select(b => b.Config.Lr), rule.BestLrs);
        Assert.InRange(rule.Exponent, -0.75, -0.25);
        var scaling = final.Runs.Where(r => r.Plan.Trial is null).ToArray();
        Assert.Equal(6, scaling.Length);
        Assert.All(scaling, r =>
        {
            Assert.True(r.Plan.LrAuto);
            Assert.Equal(rule.LrAt(r.Plan.NonEmbeddingParams), r.Plan.Lr, 1e-15);
            Assert.Equal(RunState.Completed, r.State);
        });

        // The folder reports every trial and the best per size with its curve.
        var fromDisk = SweepFolder.ReadStatus(final.Folder);
        Assert.Equal(rule.Exponent, fromDisk.LrRule!.Exponent);
        Assert.Equal(16, File.ReadAllLines(Path.Combine(final.Folder, "search.csv")).Length);
        Assert.Equal(4, File.ReadAllLines(Path.Combine(final.Folder, "best.csv")).Length);
        var curves = File.ReadAllLines(Path.Combine(final.Folder, "best_curves.csv")).Skip(1).ToArray();
        Assert.Equal(best.Select(b => b.Key).ToHashSet(), curves.Select(l => l.Split(',')[1]).ToHashSet());
        Assert.StartsWith("lr*(N) = ", File.ReadAllText(Path.Combine(final.Folder, "lr_rule.txt")));
    }
}
