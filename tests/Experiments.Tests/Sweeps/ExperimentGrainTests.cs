using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;
using Orchestrator.Experiments.Reports;
using Orchestrator.Experiments.Specs;
using Orchestrator.Experiments.Sweeps;
using Orleans.TestingHost;

namespace Orchestrator.Tests.Experiments.Sweeps;

/// <summary>One in-process silo with the experiment grain and the fake scheduler/run grains.</summary>
public sealed class SweepClusterFixture : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public string Storage { get; } = Directory.CreateTempSubdirectory("orch-sweeps-").FullName;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage(ClusterNames.Storage);
            silo.AddPlacementDirector<ControlPlanePlacementStrategy, AnySiloDirector>();
            silo.AddPlacementDirector<WorkerPlacementStrategy, AnySiloDirector>();
            silo.Services.AddSingleton(new ExperimentOptions { PollInterval = TimeSpan.FromMilliseconds(50) });
            // The real coordinator grains come along with the CLI reference (for the end-to-end tests): this silo
            // must use the fakes for ISchedulerGrain and IRunGrain, so the real classes are taken out of it.
            silo.Services.PostConfigure<Orleans.Configuration.GrainTypeOptions>(o =>
                o.Classes.RemoveWhere(t => t.Assembly.GetName().Name == "Orchestrator.Coordinator"));
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        Directory.Delete(Storage, recursive: true);
    }
}

// The tests share static fake state (failures, concurrency probe): run them one at a time.
[CollectionDefinition(nameof(SweepClusterCollection), DisableParallelization = true)]
public sealed class SweepClusterCollection : ICollectionFixture<SweepClusterFixture>;

[Collection(nameof(SweepClusterCollection))]
public sealed class ExperimentGrainTests(SweepClusterFixture fx)
{
    SweepSpec Spec(string name, int retries = 2, string sizes = "2e4, 1e5", string tokens = "2e5, 8e5") => SweepSpecYaml.Parse($"""
        name: {name}
        data: /data/none
        storage: {fx.Storage}
        params: [{sizes}]
        tokens: [{tokens}]
        batch: 4
        block_size: 32
        concurrency: 2
        retries: {retries}
        trainer: light
        """);

    static async Task<SweepStatus> WaitAsync(IGrainFactory grains, string id)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        SweepStatus last = null!;
        await foreach (var s in grains.WatchSweepAsync(id, TimeSpan.FromMilliseconds(50), cts.Token)) last = s;
        return last;
    }

    [Fact]
    public async Task A_sweep_runs_every_run_with_bounded_concurrency_retries_a_failure_and_fits()
    {
        var grains = fx.Cluster.Client;
        FakeCoordinator.MaxActive = 0;
        var spec = Spec("grid", sizes: "2e4, 5e4, 1e5, 3e5", tokens: "2e5, 8e5, 3e6");
        var plan = Orchestrator.Experiments.Planning.SweepPlanner.Plan(spec);
        string failing = plan[3].Key;
        FakeCoordinator.FailOnce[failing] = 0;

        var launched = await grains.LaunchSweepAsync(spec, "grid-1");
        Assert.Equal(12, launched.Runs.Length);
        var final = await WaitAsync(grains, "grid-1");

        Assert.Equal(SweepState.Completed, final.State);
        Assert.All(final.Runs, r => Assert.Equal(RunState.Completed, r.State));
        var retried = Assert.Single(final.Runs, r => r.Plan.Key == failing);
        Assert.Equal(2, retried.Attempts);
        Assert.StartsWith($"attempt 1 (grid-1.{failing}.a1-", Assert.Single(retried.Failures));
        Assert.EndsWith("Failed: worker crashed (injected)", retried.Failures[0]);
        Assert.All(final.Runs.Where(r => r.Plan.Key != failing), r => Assert.Equal(1, r.Attempts));
        Assert.Equal(2, FakeCoordinator.MaxActive);

        // The folder holds everything a report needs, and the report finds the law the fake runs follow.
        Assert.Equal(13, File.ReadAllLines(Path.Combine(final.Folder, "results.csv")).Length);
        var fromDisk = SweepFolder.ReadStatus(final.Folder);
        Assert.Equal(SweepState.Completed, fromDisk.State);
        var results = SweepFolder.LoadResults(fromDisk);
        Assert.All(results.Runs, r => Assert.NotEmpty(r.Curve));
        var analysis = SweepAnalysis.Analyze(results, bootstrap: 0);
        Assert.NotNull(analysis.Chinchilla);
        var law = analysis.Chinchilla!.Law;
        Assert.All(analysis.Completed, r => Assert.Equal(r.FinalLoss!.Value, law.Predict(r.N, r.D), 1e-3 * r.FinalLoss.Value));
        Assert.Equal(FakeCoordinator.Law.Alpha, law.Alpha, 0.05);
        Assert.Equal(FakeCoordinator.Law.Beta, law.Beta, 0.05);
        string report = SweepReportWriter.Write(results, analysis, Path.Combine(fx.Storage, "grid-1-report"));
        Assert.True(File.Exists(Path.Combine(report, "loss_vs_n.svg")));
    }

    [Fact]
    public async Task A_run_that_keeps_failing_is_given_up_after_its_retries()
    {
        var grains = fx.Cluster.Client;
        var spec = Spec("flaky", retries: 1);
        string bad = Orchestrator.Experiments.Planning.SweepPlanner.Plan(spec)[2].Key;
        FakeCoordinator.AlwaysFail[bad] = 0;
        try
        {
            await grains.LaunchSweepAsync(spec, "flaky-1");
            var final = await WaitAsync(grains, "flaky-1");
            Assert.Equal(SweepState.CompletedWithFailures, final.State);
            var run = Assert.Single(final.Runs, r => r.Plan.Key == bad);
            Assert.Equal(RunState.Failed, run.State);
            Assert.Equal(2, run.Attempts);
            Assert.Equal(2, run.Failures.Length);
            Assert.Equal(3, final.Done);
        }
        finally { FakeCoordinator.AlwaysFail.TryRemove(bad, out _); }
    }

    [Fact]
    public async Task A_deactivated_sweep_resumes_from_its_stored_state()
    {
        var grains = fx.Cluster.Client;
        var launched = await grains.LaunchSweepAsync(Spec("resume"), "resume-1");
        Assert.Contains(launched.Runs, r => r.State is null); // some runs still queued
        await fx.Cluster.DeactivateAsync(grains.GetGrain<IExperimentGrain>("resume-1"));
        var final = await WaitAsync(grains, "resume-1");
        Assert.Equal(SweepState.Completed, final.State);
        Assert.All(final.Runs, r => Assert.Equal(1, r.Attempts));
    }

    [Fact]
    public async Task Relaunching_an_id_with_another_spec_is_refused()
    {
        var grains = fx.Cluster.Client;
        await grains.LaunchSweepAsync(Spec("same"), "same-1");
        var again = await grains.LaunchSweepAsync(Spec("same"), "same-1"); // idempotent
        Assert.Equal("same-1", again.Id);
        var e = await Assert.ThrowsAsync<ArgumentException>(() => grains.LaunchSweepAsync(Spec("same", retries: 0), "same-1"));
        Assert.Equal("sweep 'same-1' already exists with a different spec: launch under another name", e.Message);
        await WaitAsync(grains, "same-1");
    }

    [Fact]
    public async Task Unknown_sweep_ids_are_named()
    {
        var e = await Assert.ThrowsAsync<UnknownSweepException>(() => fx.Cluster.Client.GetSweepStatusAsync("nope"));
        Assert.Equal("no sweep 'nope' (launch one with `orch sweep launch SWEEP.yaml`)", e.Message);
    }
}
