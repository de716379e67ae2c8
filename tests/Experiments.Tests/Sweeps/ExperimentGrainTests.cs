using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;
using Orchestrator.Experiments.Reports;
using Orchestrator.Experiments.Specs;
using Orchestrator.Experiments.Sweeps;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace Orchestrator.Tests.Experiments.Sweeps;

/// <summary>One in-process silo with the experiment grain and the fake scheduler/run grains.</summary>
public sealed class SweepClusterFixture : IAsyncLifetime
{
    public static readonly TimeSpan WakePeriod = TimeSpan.FromSeconds(2);
    /// <summary>Every log line of the silo, as "category: message".</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Log { get; } = new();
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public string Storage { get; } = Directory.CreateTempSubdirectory("orch-sweeps-").FullName;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        var log = Log;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(new CapturingLoggerProvider(log));
            silo.AddMemoryGrainStorage(ClusterNames.Storage);
            silo.AddPlacementDirector<ControlPlanePlacementStrategy, AnySiloDirector>();
            silo.AddPlacementDirector<WorkerPlacementStrategy, AnySiloDirector>();
            silo.Services.AddSingleton(new ExperimentOptions { PollInterval = TimeSpan.FromMilliseconds(50), WakePeriod = WakePeriod });
            // Reminders as in Redis mode, but in memory and with a period of seconds instead of Orleans' 1-minute minimum.
            silo.AddReminders();
            silo.UseInMemoryReminderService();
            silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = WakePeriod);
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
    public async Task A_sweep_whose_storage_cannot_be_written_fails_at_launch_and_stores_nothing()
    {
        var grains = fx.Cluster.Client;
        var spec = Spec("ro") with { Storage = "/proc/orch-ro-store" };
        var e = await Assert.ThrowsAsync<ArgumentException>(() => grains.LaunchSweepAsync(spec, "ro-1"));
        Assert.StartsWith("storage '/proc/orch-ro-store' cannot be written: ", e.Message);
        await Assert.ThrowsAsync<UnknownSweepException>(() => grains.GetGrain<IExperimentGrain>("ro-1").GetStatusAsync());
        var file = Path.Combine(fx.Storage, "a-file");
        File.WriteAllText(file, "");
        var under = await Assert.ThrowsAsync<ArgumentException>(() => grains.LaunchSweepAsync(Spec("ro") with { Storage = Path.Combine(file, "s") }, "ro-2"));
        Assert.Equal($"storage '{Path.Combine(file, "s")}' lies under '{file}', which is a file", under.Message);
        var longName = await Assert.ThrowsAsync<ArgumentException>(() => grains.LaunchSweepAsync(Spec("ro") with { Name = new string('n', 300) }, "ro-3"));
        Assert.Equal("sweep name: 300 characters; at most 100", longName.Message);
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

    /// <summary>
    /// IsoFLOP end to end: flop_budgets in the YAML (mixed with a token grid) -> runs at D = C/6N -> the sweep's folder
    /// -> a report with IsoFLOP profiles whose parabola minima land near the fake law's compute-optimal N.
    /// </summary>
    [Fact]
    public async Task A_sweep_with_flop_budgets_reports_IsoFLOP_profiles_and_their_minima()
    {
        var grains = fx.Cluster.Client;
        // The fake law (α = β = 0.3) puts N* at 2.8e4, 4.8e4 and 8.8e4 for these budgets: inside the sizes tried.
        var spec = SweepSpecYaml.Parse($"""
            name: iso
            data: /data/none
            storage: {fx.Storage}
            params: [1.2e4, 2.5e4, 5e4, 1e5, 2e5, 4e5]
            flop_budgets: [1e14, 3e14, 1e15]
            tokens: [1e6]
            batch: 4
            block_size: 32
            concurrency: 4
            trainer: light
            """);
        var plan = Orchestrator.Experiments.Planning.SweepPlanner.Plan(spec);
        Assert.Equal(6 * (3 + 1), plan.Count);
        Assert.All(plan.Where(p => p.FlopBudget is { } c), p => Assert.Equal(p.FlopBudget!.Value, 6.0 * p.NonEmbeddingParams * p.Tokens, p.FlopBudget.Value * 1e-6));

        await grains.LaunchSweepAsync(spec, "iso-1");
        var final = await WaitAsync(grains, "iso-1");
        Assert.Equal(SweepState.Completed, final.State);
        Assert.Equal(18, final.Runs.Count(r => r.Plan.FlopBudget is not null));

        var results = SweepFolder.LoadResults(SweepFolder.ReadStatus(final.Folder));
        Assert.Equal(18, results.Runs.Count(r => r.FlopBudget is not null));
        var analysis = SweepAnalysis.Analyze(results, bootstrap: 0);
        var iso = Assert.IsType<Orchestrator.Experiments.Fitting.IsoFlopFit>(analysis.IsoFlop);
        Assert.Equal([1e14, 3e14, 1e15], iso.Minima.Select(m => m.Flops).ToArray());
        foreach (var m in iso.Minima)
        {
            Assert.True(m.IsInterior, $"C = {m.Flops:G3}: minimum at N = {m.OptimalN:G3} is outside the sizes");
            // A parabola in ln N through sizes 2.5x apart: within 35% of the law's exact optimum.
            Assert.InRange(m.OptimalN / FakeCoordinator.Law.ComputeOptimal(m.Flops).N, 0.65, 1.35);
        }
        Assert.InRange(iso.NExponent!.Value, 0.4, 0.6); // N* ∝ C^(β/(α+β)) = C^0.5

        string report = SweepReportWriter.Write(results, analysis, Path.Combine(fx.Storage, "iso-1-report"));
        Assert.True(File.Exists(Path.Combine(report, "isoflop.png")));
        Assert.True(File.Exists(Path.Combine(report, "isoflop.svg")));
        string md = File.ReadAllText(Path.Combine(report, "report.md"));
        Assert.Contains("## IsoFLOP profiles (Chinchilla approach 2)", md);
        Assert.Contains("| 3E+14 |", md);
        Assert.Contains("![isoflop](isoflop.png)", md);
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

    /// <summary>The silo's reminder table: which reminders the grain holds.</summary>
    async Task<List<string>> RemindersOf(IExperimentGrain grain)
    {
        var table = fx.Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();
        var rows = await table.ReadRows(grain.GetGrainId());
        return rows.Reminders.Select(r => r.ReminderName).ToList();
    }

    /// <summary>
    /// What a coordinator restart does to a sweep, at the grain level: the activation and its timer are gone, and
    /// nothing calls the grain. Its reminder must wake it and scheduling must go on with no call at all: progress is
    /// watched in the sweep's folder only, and the grain's log shows a new activation that no call of ours caused.
    /// </summary>
    [Fact]
    public async Task A_deactivated_sweep_is_woken_by_its_reminder_without_any_call()
    {
        var grains = fx.Cluster.Client;
        var grain = grains.GetGrain<IExperimentGrain>("wake-1");
        var launched = await grains.LaunchSweepAsync(Spec("wake", sizes: "2e4, 5e4, 1e5", tokens: "4e5, 1.6e6, 6e6"), "wake-1");
        Assert.Contains(launched.Runs, r => r.State is null); // runs still queued
        Assert.Equal([ExperimentGrain.WakeReminder], await RemindersOf(grain));

        await fx.Cluster.DeactivateAsync(grain);
        int activations = fx.Log.Count(l => l.Contains("sweep wake-1 resumed from its stored state"));
        var guard = System.Diagnostics.Stopwatch.StartNew();
        while (SweepFolder.ReadStatus(launched.Folder).State == SweepState.Running)
        {
            Assert.True(guard.Elapsed < TimeSpan.FromSeconds(60), "the sweep was not woken by its reminder");
            await Task.Delay(50);
        }
        Assert.True(fx.Log.Count(l => l.Contains("sweep wake-1 resumed from its stored state")) > activations,
            "the sweep finished without a new activation: the deactivation did not stop it, so this proves nothing");
        // The folder shows Completed as soon as the finishing tick saved it; the tick then drops the reminder in the
        // same turn. A call to the grain (its timer does not interleave) is served after that turn: no race.
        var final = await grain.GetStatusAsync();
        Assert.Equal(SweepState.Completed, final.State);
        Assert.Equal(final.State, SweepFolder.ReadStatus(launched.Folder).State);
        Assert.All(final.Runs, r => Assert.Equal(RunState.Completed, r.State));
        Assert.All(final.Runs, r => Assert.Equal(1, r.Attempts));
        Assert.Empty(await RemindersOf(grain)); // a finished sweep holds no reminder
    }

    [Fact]
    public async Task A_finished_or_cancelled_sweep_holds_no_reminder()
    {
        var grains = fx.Cluster.Client;
        await grains.LaunchSweepAsync(Spec("done"), "done-1");
        await WaitAsync(grains, "done-1");
        Assert.Empty(await RemindersOf(grains.GetGrain<IExperimentGrain>("done-1")));

        await grains.LaunchSweepAsync(Spec("cancel"), "cancel-1");
        Assert.Equal([ExperimentGrain.WakeReminder], await RemindersOf(grains.GetGrain<IExperimentGrain>("cancel-1")));
        var cancelled = await grains.GetGrain<IExperimentGrain>("cancel-1").CancelAsync("test");
        Assert.Equal(SweepState.Cancelled, cancelled.State);
        Assert.Empty(await RemindersOf(grains.GetGrain<IExperimentGrain>("cancel-1")));
    }

    [Fact]
    public async Task A_cancelled_sweep_resumed_keeps_its_completed_runs_and_completes_the_others()
    {
        var grains = fx.Cluster.Client;
        await grains.LaunchSweepAsync(Spec("again"), "again-1");
        var cancelled = await grains.CancelSweepAsync("again-1", "test");
        Assert.Equal(SweepState.Cancelled, cancelled.State);
        var kept = cancelled.Runs.Where(r => r.State == RunState.Completed).Select(r => (r.Plan.Key, r.RunId)).ToList();

        var resumed = await grains.ResumeSweepAsync("again-1");
        Assert.Equal(SweepState.Running, resumed.State);
        var final = await WaitAsync(grains, "again-1");
        Assert.Equal(SweepState.Completed, final.State);
        Assert.All(final.Runs, r => Assert.Equal(RunState.Completed, r.State));
        foreach (var (key, runId) in kept) Assert.Equal(runId, final.Runs.Single(r => r.Plan.Key == key).RunId); // not trained again
        Assert.Equal(final.State, (await grains.ResumeSweepAsync("again-1")).State); // a completed sweep is left as it is
    }

    [Fact]
    public void A_sweeps_id_is_its_name_and_a_hash_of_its_content()
    {
        var spec = Spec("content") with { Options = System.Collections.Immutable.ImmutableDictionary<string, string>.Empty.Add("a", "1").Add("b", "2") };
        var same = Spec("content") with { Options = System.Collections.Immutable.ImmutableDictionary<string, string>.Empty.Add("b", "2").Add("a", "1") };
        Assert.Matches("^content-[0-9a-f]{8}$", SweepClient.IdOf(spec));
        Assert.Equal(SweepClient.IdOf(spec), SweepClient.IdOf(same));
        Assert.NotEqual(SweepClient.IdOf(spec), SweepClient.IdOf(Spec("content", tokens: "2e5, 9e5") with { Options = spec.Options }));
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

/// <summary>Keeps every log line (information and up) so tests can see what the grains did.</summary>
public sealed class CapturingLoggerProvider(System.Collections.Concurrent.ConcurrentQueue<string> lines) : Microsoft.Extensions.Logging.ILoggerProvider
{
    public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => new Logger(categoryName, lines);
    public void Dispose() { }

    sealed class Logger(string category, System.Collections.Concurrent.ConcurrentQueue<string> lines) : Microsoft.Extensions.Logging.ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel level) => level >= Microsoft.Extensions.Logging.LogLevel.Information;
        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel level, Microsoft.Extensions.Logging.EventId id, TState state, Exception? e,
            Func<TState, Exception?, string> format)
        {
            if (IsEnabled(level)) lines.Enqueue($"{category}: {format(state, e)}");
        }
    }
}
