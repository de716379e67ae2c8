using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;
using Orchestrator.Experiments.Planning;
using Orchestrator.Experiments.Reports;
using Orchestrator.Experiments.Specs;
using Orchestrator.Experiments.Sweeps;

namespace Orchestrator.Tests.Experiments.Sweeps;

/// <summary>
/// A WSD branching sweep on the experiment grain (fake run grains that checkpoint at the pinned steps): one trunk per
/// size, a branch per budget started from the trunk's fork checkpoint, a trunk that fails once and is retried from its
/// last checkpoint without losing the forks it made, a report with the cost against training from scratch.
/// </summary>
[Collection(nameof(SweepClusterCollection))]
public sealed class BranchingSweepTests(SweepClusterFixture fx)
{
    SweepSpec Spec(string name, string extra = "") => SweepSpecYaml.Parse($"""
        name: {name}
        data: /data/none
        storage: {fx.Storage}
        params: [2e4, 5e4, 1e5, 3e5]
        tokens: [2e5, 8e5, 3e6]
        batch: 4
        block_size: 32
        concurrency: 3
        warmup_steps: 5
        schedule: wsd
        trainer: light
        {extra}
        """);

    [Fact]
    public async Task Branches_fork_from_their_trunk_and_a_failed_trunk_resumes_without_losing_forks()
    {
        var grains = fx.Cluster.Client;
        var spec = Spec("branchy");
        var plan = SweepPlanner.Plan(spec);
        Assert.Equal(4 * (1 + 3), plan.Count);
        string trunkKey = plan.First(p => p.Role == RunRole.Trunk).Key;
        FakeCoordinator.FailOnce[trunkKey] = 0; // fails at its second poll, after its first fork point
        try
        {
            await grains.LaunchSweepAsync(spec, "branchy-1");
            var final = await WaitAsync(grains, "branchy-1");
            Assert.Equal(SweepState.Completed, final.State);
            Assert.All(final.Runs, r => Assert.Equal(RunState.Completed, r.State));

            var trunk = Assert.Single(final.Runs, r => r.Plan.Key == trunkKey);
            Assert.Equal(2, trunk.Attempts);
            Assert.Equal(trunk.Plan.ForkSteps!.Value.ToArray(), trunk.ForkPoints.Select(f => f.Step).ToArray());
            // The retry started from the first attempt's newest checkpoint, and one fork point is the first attempt's.
            var retrySpec = FakeCoordinator.Specs[trunk.RunId!];
            Assert.Contains("branchy-1." + trunkKey + ".a1-", retrySpec.InitFrom);
            Assert.Contains(trunk.ForkPoints, f => f.Path.Contains(".a1-"));
            Assert.Equal((LrScheduleSpec.Constant, 5), (retrySpec.Schedule, retrySpec.WarmupSteps));
            Assert.Equal(trunk.Plan.ForkSteps!.Value.ToArray(), retrySpec.Checkpoint.At.ToArray());

            foreach (var b in final.Runs.Where(r => r.Plan.Role == RunRole.Branch && r.Plan.Parent == trunkKey))
            {
                var s = FakeCoordinator.Specs[b.RunId!];
                var fork = Assert.Single(trunk.ForkPoints, f => f.Step == b.Plan.ForkStep);
                Assert.Equal((fork.Path, b.Plan.ForkStep, "wsd", b.Plan.Steps), (s.InitFrom, s.ForkStep, s.Schedule, s.Steps));
                Assert.Equal(LrScheduleSpec.CooldownStart(b.Plan.Steps, 0.2), b.Plan.ForkStep);
                Assert.Equal(Path.GetFileName(Path.GetDirectoryName(fork.Path)), s.Parent);
                Assert.Equal(s.Parent, b.ParentRunId);
            }

            // results.csv and the fit hold the 12 branches, not the trunks; the report says what branching saved.
            Assert.Equal(13, File.ReadAllLines(Path.Combine(final.Folder, "results.csv")).Length);
            var results = SweepFolder.LoadResults(SweepFolder.ReadStatus(final.Folder));
            var analysis = SweepAnalysis.Analyze(results, bootstrap: 0);
            Assert.Equal(12, analysis.Completed.Count);
            Assert.DoesNotContain(analysis.Completed, r => r.IsTrunk);
            Assert.Equal(FakeCoordinator.Law.Alpha, analysis.Chinchilla!.Law.Alpha, 0.05);
            var cost = BranchCost.Of(results)!;
            double tokensPerStep = 4 * 32;
            double scratch = results.Runs.Where(r => r.Role == "Branch").Sum(r => 6.0 * r.N * r.D);
            double branched = plan.Where(p => p.Role == RunRole.Trunk).Sum(p => 6.0 * p.NonEmbeddingParams * p.Steps * tokensPerStep)
                + plan.Where(p => p.Role == RunRole.Branch).Sum(p => 6.0 * p.NonEmbeddingParams * (p.Steps - p.ForkStep!.Value) * tokensPerStep);
            Assert.Equal(scratch, cost.FlopsFromScratch, scratch * 1e-9);
            Assert.Equal(branched, cost.Flops, branched * 1e-9);
            // Per size: from scratch 2e5 + 8e5 + 3e6 tokens; branched, a trunk to 0.8 x 3e6 and three cooldowns of 0.2 x D_i.
            Assert.InRange(cost.FlopSaving, 0.19, 0.21);
            string report = SweepReportWriter.Write(results, analysis, Path.Combine(fx.Storage, "branchy-1-report"));
            string md = File.ReadAllText(Path.Combine(report, "report.md"));
            Assert.Contains("## Cost of the cooldown branches", md);
            Assert.Contains($"| {trunkKey} | trunk |", md);
            Assert.Contains($"| branch | {trunkKey} |", md);
            Assert.True(File.Exists(Path.Combine(report, "loss_curves.png")));
            // The branch points stay marked on the trunks' curves (one legend entry in each size's panel that has them).
            var texts = System.Xml.Linq.XDocument.Load(Path.Combine(report, "loss_curves.svg"))
                .Descendants((System.Xml.Linq.XNamespace)"http://www.w3.org/2000/svg" + "text").Select(t => t.Value.Trim()).ToList();
            Assert.Contains("branch points", texts);
            Assert.Contains(texts, t => t.EndsWith(" (trunk)"));
            Assert.True(File.Exists(Path.Combine(report, "loss_vs_flops.png")));
        }
        finally { FakeCoordinator.FailOnce.TryRemove(trunkKey, out _); }
    }

    [Fact]
    public async Task A_branch_whose_trunk_never_reaches_its_fork_fails_with_the_reason()
    {
        var grains = fx.Cluster.Client;
        var spec = Spec("orphan", "retries: 0\n");
        string trunkKey = SweepPlanner.Plan(spec).First(p => p.Role == RunRole.Trunk).Key;
        FakeCoordinator.AlwaysFail[trunkKey] = 0;
        try
        {
            await grains.LaunchSweepAsync(spec, "orphan-1");
            var final = await WaitAsync(grains, "orphan-1");
            Assert.Equal(SweepState.CompletedWithFailures, final.State);
            var branches = final.Runs.Where(r => r.Plan.Parent == trunkKey).ToList();
            // The fake trunk fails at its second poll, at step 12500 of 18750: the forks at 1250 and 5000 were committed.
            Assert.Equal([1250, 5000], branches.Where(r => r.State == RunState.Completed).Select(r => r.Plan.ForkStep!.Value).Order().ToArray());
            Assert.All(branches.Where(r => r.State != RunState.Completed), r =>
                Assert.Contains($"not started: its trunk {trunkKey} ended Failed without a checkpoint at the fork step {r.Plan.ForkStep}", r.Failures[0]));
        }
        finally { FakeCoordinator.AlwaysFail.TryRemove(trunkKey, out _); }
    }

    static async Task<SweepStatus> WaitAsync(IGrainFactory grains, string id)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        SweepStatus last = null!;
        await foreach (var s in grains.WatchSweepAsync(id, TimeSpan.FromMilliseconds(50), cts.Token)) last = s;
        return last;
    }
}
