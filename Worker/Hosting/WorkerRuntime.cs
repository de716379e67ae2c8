using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Workers;

namespace Orchestrator.Worker.Hosting;

/// <summary>How this worker process presents itself and reports.</summary>
public sealed record WorkerRuntimeOptions
{
    public required WorkerInfo Info { get; init; }
    /// <summary>Metrics go to the run in batches at most this often (plus at every checkpoint and at the end).</summary>
    public TimeSpan ReportEvery { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>How long to keep trying to register while the coordinator is not up yet.</summary>
    public TimeSpan RegisterFor { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// The worker process's runtime: registers this device with the scheduler, then owns the training thread, which
/// takes commands from the mailbox the worker grain posts to. Started after the silo (registered after UseOrleans).
/// </summary>
public sealed partial class WorkerRuntime(
    IGrainFactory grains, ITrainingJobFactory jobs, WorkerRuntimeOptions options,
    IHostApplicationLifetime lifetime, ILogger<WorkerRuntime> log) : IHostedService
{
    readonly WorkerMailbox mailbox = new();
    readonly CancellationTokenSource stopping = new();
    Thread? thread;
    volatile ITrainingJob? current;
    volatile string? currentRun;

    public WorkerInfo Info { get; private set; } = options.Info;
    internal WorkerMailbox Mailbox => mailbox;
    internal IGrainFactory Grains => grains;
    internal WorkerRuntimeOptions Options => options;
    internal ILogger Log => log;
    internal ITrainingJobFactory Jobs => jobs;
    internal CancellationToken Stopping => stopping.Token;

    /// <summary>
    /// Called by the worker grain: queue the command, and unblock a step stuck on a peer so it is seen at once. A
    /// release aborts only the job of the run it releases: a late release of a finished run must not break the next.
    /// </summary>
    public void Post(WorkerCommand command)
    {
        if (!mailbox.Post(command)) return;
        if (command is ReleaseCommand r && r.RunId != currentRun) return;
        current?.Abort();
    }

    internal void SetCurrent(ITrainingJob? job, string? runId)
    {
        current = job;
        currentRun = runId;
    }

    public async Task StartAsync(CancellationToken ct)
    {
        var scheduler = grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Key);
        var deadline = DateTime.UtcNow + options.RegisterFor;
        while (true)
        {
            try
            {
                Info = await scheduler.RegisterWorkerAsync(options.Info);
                LogRegistered(Info.Id, Info.Device);
                break;
            }
            catch (IncompatibleWorkerException e)
            {
                LogRefused(e.Message);
                Console.Error.WriteLine("error: " + e.Message);
                Environment.ExitCode = 2;
                lifetime.StopApplication();
                return;
            }
            catch (Exception e) when (DateTime.UtcNow < deadline && !ct.IsCancellationRequested)
            {
                LogRetry(e.GetBaseException().Message);
                await Task.Delay(500, ct);
            }
        }
        thread = new Thread(() => new TrainingLoop(this).Run()) { IsBackground = true, Name = "training" };
        thread.Start();
    }

    public Task StopAsync(CancellationToken ct)
    {
        stopping.Cancel();
        current?.Abort();
        thread?.Join(TimeSpan.FromSeconds(10));
        return Task.CompletedTask;
    }

    [LoggerMessage(LogLevel.Information, "worker {WorkerId} registered ({Device})")]
    partial void LogRegistered(string workerId, string device);
    [LoggerMessage(LogLevel.Critical, "registration refused: {Message}")]
    partial void LogRefused(string message);
    [LoggerMessage(LogLevel.Information, "coordinator not reachable yet ({Error}); retrying")]
    partial void LogRetry(string error);
}
