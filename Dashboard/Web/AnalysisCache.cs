using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;
using Orchestrator.Dashboard.Documents;

namespace Orchestrator.Dashboard.Web;

/// <summary>
/// A sweep's fit costs seconds of CPU (the bootstrap) and pages poll every few seconds: the fit is kept until the set
/// of completed runs changes, and one fit runs at a time so readers never starve the coordinator's grains of cores.
/// Bounded to <see cref="MaxEntries"/> fits (cleared past that).
/// </summary>
public sealed class AnalysisCache
{
    const int MaxEntries = 32;
    readonly Dictionary<string, SweepFit> entries = [];
    readonly SemaphoreSlim oneAtATime = new(1, 1);

    public async Task<SweepFit> GetAsync(SweepStatus status, int bootstrap, CancellationToken ct)
    {
        string key = $"{status.Id}|{bootstrap}|" + string.Join(";", status.Runs
            .Where(r => r.State == RunState.Completed).Select(r => $"{r.Plan.Key}={r.ValLoss:R}/{r.TrainedTokens}"));
        await oneAtATime.WaitAsync(ct);
        try
        {
            if (entries.TryGetValue(key, out var hit)) return hit;
            var entry = await Task.Run(() => ApiQueries.Analyze(status, bootstrap, ct), ct);
            if (entries.Count >= MaxEntries) entries.Clear();
            entries[key] = entry;
            return entry;
        }
        finally { oneAtATime.Release(); }
    }
}
