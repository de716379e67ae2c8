using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;
using Orchestrator.Experiments.Reports;
using Orchestrator.Experiments.Sweeps;
using Orleans.Runtime;

namespace Orchestrator.Dashboard.Documents;

/// <summary>
/// Builds every document from the grains, for any grain factory: the console's cluster client and the coordinator's
/// own silo run the same code, so `orch ... --json` and the web API cannot drift apart. Unknown ids throw the grains'
/// own exceptions (UnknownRunException, UnknownSweepException: bad input).
/// </summary>
public static class ApiQueries
{
    /// <summary>Resamples for the analysis' intervals and bands unless asked otherwise (a few seconds on 2 cores).</summary>
    public const int DefaultBootstrap = 200;
    public const int MaxBootstrap = 5000;

    /// <summary>The live workers and the recently lost (<see cref="WorkerAging"/>); with <paramref name="all"/> every one kept.</summary>
    public static async Task<WorkerJson[]> WorkersAsync(IGrainFactory grains, bool all = false) =>
        [.. (all ? await Scheduler(grains).ListWorkersAsync() : await Scheduler(grains).ListRecentWorkersAsync()).Select(WorkerJson.From)];

    public static async Task<RunJson[]> RunsAsync(IGrainFactory grains)
    {
        var ids = await Scheduler(grains).ListRunsAsync();
        var sweeps = await SweepIdsAsync(grains);
        var all = await Task.WhenAll(ids.Select(id => grains.GetRunStatusAsync(id)));
        return [.. all.Select(s => RunJson.Summary(s, SweepOf(s, sweeps)))];
    }

    public static async Task<RunJson> RunAsync(IGrainFactory grains, string id)
    {
        var status = await grains.GetRunStatusAsync(id);
        return RunJson.From(status, SweepOf(status, await SweepIdsAsync(grains)));
    }

    /// <summary>Every log line the run grain holds that the query asks for (paged through), as `orch run logs ID --json` prints them.</summary>
    public static async Task<RunLogsJson> RunLogsAsync(IGrainFactory grains, string id, RunLogQuery query, CancellationToken ct = default)
    {
        query.Validate();
        var grain = grains.GetGrain<IRunGrain>(id);
        var lines = new List<RunLogLine>();
        long dropped = 0;
        RunLogPage page;
        var q = query;
        do
        {
            page = await grain.GetLogsAsync(q).WaitAsync(ct);
            dropped += page.Dropped;
            lines.AddRange(page.Lines);
            q = q with { After = page.Next, Tail = null };
        } while (page.More);
        return new RunLogsJson(id, page.State.ToString(), dropped, page.Next, lines);
    }

    public static async Task<SweepJson[]> SweepsAsync(IGrainFactory grains)
    {
        var ids = await SweepIdsAsync(grains);
        return [.. (await Task.WhenAll(ids.Select(id => grains.GetSweepStatusAsync(id)))).Select(SweepJson.From)];
    }

    public static async Task<SweepJson> SweepAsync(IGrainFactory grains, string id) => SweepJson.From(await grains.GetSweepStatusAsync(id));

    /// <summary>Fits the sweep's completed runs (reads their metrics files from the sweep's folder). CPU-bound: seconds with a bootstrap.</summary>
    public static SweepFit Analyze(SweepStatus status, int bootstrap, CancellationToken ct)
    {
        if (bootstrap is < 0 or > MaxBootstrap) throw new ArgumentException($"--bootstrap {bootstrap} is not 0..{MaxBootstrap}");
        var results = SweepFolder.LoadResults(status);
        var analysis = SweepAnalysis.Analyze(results, bootstrap, ct);
        return new SweepFit(results, analysis, SweepAnalysisJson.From(status.Id, bootstrap, analysis));
    }

    /// <summary>The Markdown report of a fit (the figures are left to `orch sweep report`, which writes them as files).</summary>
    public static string ReportMarkdown(SweepFit fit) => Experiments.Reports.ReportMarkdown.Build(fit.Results, fit.Analysis, []);

    public static async Task<ClusterJson> ClusterAsync(IGrainFactory grains)
    {
        var hosts = await grains.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: false);
        var silos = hosts.OrderBy(h => h.StartTime).Select(h => new SiloJson(
            h.SiloName, h.SiloAddress.Endpoint.ToString(), h.HostName, h.Status.ToString(),
            new DateTimeOffset(DateTime.SpecifyKind(h.StartTime, DateTimeKind.Utc)),
            new DateTimeOffset(DateTime.SpecifyKind(h.IAmAliveTime, DateTimeKind.Utc)),
            Math.Max(0, (h.IAmAliveTime - h.StartTime).TotalSeconds))).ToList();
        var coordinator = silos.LastOrDefault(s => s.Name == ClusterNames.CoordinatorPrefix && s.Status == nameof(SiloStatus.Active))
            ?? silos.LastOrDefault(s => s.Name == ClusterNames.CoordinatorPrefix);
        var runs = await RunsAsync(grains);
        var sweeps = await SweepsAsync(grains);
        return new ClusterJson(coordinator, silos, await WorkersAsync(grains),
            runs.GroupBy(r => r.State).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()),
            sweeps.GroupBy(s => s.State).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()));
    }

    static ISchedulerGrain Scheduler(IGrainFactory grains) => grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Key);

    static async Task<IReadOnlyList<string>> SweepIdsAsync(IGrainFactory grains) =>
        await grains.GetGrain<ISweepIndexGrain>(ISweepIndexGrain.Key).ListAsync();

    /// <summary>A sweep names its runs "SWEEP-ID.KEY.aATTEMPT" (every attempt, not only the last).</summary>
    static string? SweepOf(RunStatus run, IReadOnlyList<string> sweepIds) =>
        sweepIds.Where(id => run.Name.StartsWith(id + ".", StringComparison.Ordinal)).MaxBy(id => id.Length);
}

/// <summary>A sweep's fit: what it was made from, the analysis, and its document.</summary>
public sealed record SweepFit(SweepResults Results, SweepAnalysis Analysis, SweepAnalysisJson Json);
