using Orchestrator.Contracts.Cluster;

namespace Orchestrator.Contracts.Runs;

/// <summary>
/// The easy way to drive runs from any grain client (CLI, experiment grains): submit, read, watch, wait.
/// Watching polls: it survives a coordinator restart and never holds a grain turn open.
/// </summary>
public static class RunClient
{
    public static Task<RunStatus> SubmitRunAsync(this IGrainFactory grains, RunSpec spec) =>
        grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Key).SubmitRunAsync(spec);

    public static Task<RunStatus> GetRunStatusAsync(this IGrainFactory grains, string runId) =>
        grains.GetGrain<IRunGrain>(runId).GetStatusAsync();

    public static Task<RunStatus> CancelRunAsync(this IGrainFactory grains, string runId, string reason = "cancelled by user") =>
        grains.GetGrain<IRunGrain>(runId).CancelAsync(reason);

    /// <summary>
    /// Yields the status every <paramref name="poll"/> (default 1 s) until the run is final (the final status is yielded
    /// too). With <paramref name="reconnectFor"/>, a coordinator that stops answering is asked again until it has been
    /// silent that long (a restart in between goes unnoticed), then <see cref="CoordinatorGoneException"/> says so.
    /// </summary>
    public static IAsyncEnumerable<RunStatus> WatchRunAsync(this IGrainFactory grains, string runId,
        TimeSpan? poll = null, CancellationToken ct = default, TimeSpan? reconnectFor = null)
    {
        var grain = grains.GetGrain<IRunGrain>(runId);
        var patience = reconnectFor is { } grace ? new CoordinatorPatience(grace, $"watching run {runId}",
            $"`orch run status {runId}` once it is back (an --ephemeral coordinator has no record of it after a restart)") : null;
        return CoordinatorPatience.PollAsync(grain.GetStatusAsync, s => s.State.IsFinal(), poll ?? TimeSpan.FromSeconds(1), patience, ct);
    }

    /// <summary>Waits for the run to be Completed, Failed or Cancelled and returns its final status (ValLoss on success).</summary>
    public static async Task<RunStatus> WaitForRunAsync(this IGrainFactory grains, string runId,
        TimeSpan? poll = null, CancellationToken ct = default)
    {
        RunStatus last = null!;
        await foreach (var s in grains.WatchRunAsync(runId, poll, ct)) last = s;
        return last;
    }
}
