using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Coordinator.Hosting;

/// <summary>
/// Keeps the control plane's grains with work in flight activated. Orleans deactivates an activation when the silo
/// that held its grain-directory entry dies ("DirectoryFailure"), and any worker silo may hold that entry for a run or
/// sweep that lives on the coordinator: the activation goes, and with it the timers that drive it (a sweep's
/// scheduling tick, a run's assignment resend). State is stored, so a call activates the grain again and it goes on;
/// this service makes that call to each run and sweep not known to have ended as soon as the coordinator has started
/// (a restarted coordinator: the sweeps it finds in storage go on at once, not a period later) and every
/// <see cref="Period"/> after (with Redis, reminders would also do it, but only once a minute). Runs on coordinator
/// silos only.
/// </summary>
public sealed partial class ControlPlaneWaker(IGrainFactory grains, IHostApplicationLifetime lifetime, ILogger<ControlPlaneWaker> log) : BackgroundService
{
    /// <summary>How often every unfinished run and sweep is called.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(5);

    // Runs seen in a final state are never called again (a run never leaves it; a sweep can be resumed, so every sweep
    // is called: there are few).
    readonly HashSet<string> endedRuns = [];

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(Period);
        try
        {
            // The first pass once every hosted service (the silo among them) has started, then one a period.
            await StartedAsync(ct);
            do
            {
                try { await WakeAsync(ct); }
                catch (Exception e) when (!ct.IsCancellationRequested) { LogFailed(e.GetBaseException().Message); }
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    async Task StartedAsync(CancellationToken ct)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(ct);
    }

    /// <summary>One pass: calls each run and sweep still in flight, which activates any whose activation was lost.</summary>
    public async Task WakeAsync(CancellationToken ct = default)
    {
        foreach (var id in await grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Key).ListRunsAsync())
        {
            if (ct.IsCancellationRequested || endedRuns.Contains(id)) continue;
            try
            {
                if ((await grains.GetGrain<IRunGrain>(id).GetStatusAsync()).State.IsFinal()) endedRuns.Add(id);
            }
            catch (UnknownRunException) { endedRuns.Add(id); }
        }
        foreach (var id in await grains.GetGrain<ISweepIndexGrain>(ISweepIndexGrain.Key).ListAsync())
        {
            if (ct.IsCancellationRequested) break;
            try { await grains.GetGrain<IExperimentGrain>(id).GetStatusAsync(); }
            catch (UnknownSweepException) { }
        }
    }

    [LoggerMessage(LogLevel.Warning, "waking the control plane's runs and sweeps failed: {Error} (tried again in 5 s)")]
    partial void LogFailed(string error);
}
