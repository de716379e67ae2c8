using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Workers;

namespace Orchestrator.Worker.Hosting;

/// <summary>How this worker process presents itself and reports.</summary>
public sealed record WorkerRuntimeOptions
{
    /// <summary>The process: its id is the silo name; each slot registers a copy with its own slot id.</summary>
    public required WorkerInfo Info { get; init; }
    /// <summary>Runs this process trains at once (one training thread each).</summary>
    public int Slots { get; init; } = 1;
    /// <summary>Gives each training thread its own compute stream (CUDA); the default does nothing.</summary>
    public IThreadStreams Streams { get; init; } = NoThreadStreams.Instance;
    /// <summary>Metrics go to the run in batches at most this often (plus at every checkpoint and at the end).</summary>
    public TimeSpan ReportEvery { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>How long to keep trying to register while the coordinator is not up yet.</summary>
    public TimeSpan RegisterFor { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// The worker process's runtime: registers each of its slots with the scheduler, then owns one training thread per
/// slot, which takes commands from the mailbox the slot's worker grain posts to. Started after the silo (registered
/// after UseOrleans). Slots share the process (its CUDA context, loaded libraries and compiled code), so a run that
/// follows another starts without any process start-up.
/// </summary>
public sealed partial class WorkerRuntime(
    IGrainFactory grains, ITrainingJobFactory jobs, WorkerRuntimeOptions options,
    IHostApplicationLifetime lifetime, ILogger<WorkerRuntime> log, RunLogCapture runLogs) : IHostedService
{
    readonly CancellationTokenSource stopping = new();
    readonly WorkerSlot[] slots = options.Slots >= 1
        ? [.. Enumerable.Range(0, options.Slots).Select(i => new WorkerSlot(options.Info with
            {
                Id = WorkerInfo.SlotId(options.Info.Id, i, options.Slots), Process = options.Info.Id, Slot = i, Slots = options.Slots,
            }))]
        : throw new ArgumentException($"--slots: {options.Slots} must be at least 1");

    /// <summary>The process as configured (slot 0's registration for a one-slot worker).</summary>
    public WorkerInfo Info => slots[0].Info;
    public IReadOnlyList<WorkerSlot> Slots => slots;
    internal IGrainFactory Grains => grains;
    internal WorkerRuntimeOptions Options => options;
    internal ILogger Log => log;
    internal ITrainingJobFactory Jobs => jobs;
    /// <summary>The lines logged in each run's scope, waiting for that rank's next report.</summary>
    internal RunLogCapture RunLogs => runLogs;
    internal CancellationToken Stopping => stopping.Token;

    /// <summary>The slot a worker grain key names; throws for a slot this process does not have.</summary>
    public WorkerSlot Slot(string slotId) =>
        slots.FirstOrDefault(s => s.Info.Id == slotId)
        ?? throw new ArgumentException($"worker process {options.Info.Id} has no slot '{slotId}' (it has {slots.Length})");

    public async Task StartAsync(CancellationToken ct)
    {
        var scheduler = grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Key);
        var deadline = DateTime.UtcNow + options.RegisterFor;
        for (int i = 0; i < slots.Length; i++)
        while (true)
        {
            try
            {
                slots[i].Info = await scheduler.RegisterWorkerAsync(slots[i].Info);
                LogRegistered(slots[i].Info.Id, slots[i].Info.Device);
                break;
            }
            catch (Exception e) when (e is IncompatibleWorkerException or ClusterTokenRefusedException)
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
        foreach (var slot in slots)
        {
            slot.Thread = new Thread(() => new TrainingLoop(this, slot).Run()) { IsBackground = true, Name = $"training {slot.Info.Slot}" };
            slot.Thread.Start();
        }
    }

    /// <summary>
    /// The coordinator is gone: every slot's run ends at its next step with a checkpoint, and no new run starts.
    /// Returns whether every slot was idle within <paramref name="timeout"/>.
    /// </summary>
    public async Task<bool> PauseAsync(TimeSpan timeout, CancellationToken ct)
    {
        foreach (var slot in slots) slot.Pause();
        var deadline = DateTime.UtcNow + timeout;
        while (slots.Any(s => s.Busy) && DateTime.UtcNow < deadline && !ct.IsCancellationRequested)
            await Task.Delay(100, ct).ContinueWith(_ => { }, TaskScheduler.Default);
        return !slots.Any(s => s.Busy);
    }

    public Task StopAsync(CancellationToken ct)
    {
        stopping.Cancel();
        foreach (var slot in slots) slot.Abort();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        foreach (var slot in slots) slot.Thread?.Join(Max(deadline - DateTime.UtcNow, TimeSpan.Zero));
        return Task.CompletedTask;
    }

    static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    [LoggerMessage(LogLevel.Information, "worker {WorkerId} registered ({Device})")]
    partial void LogRegistered(string workerId, string device);
    [LoggerMessage(LogLevel.Critical, "registration refused: {Message}")]
    partial void LogRefused(string message);
    [LoggerMessage(LogLevel.Information, "coordinator not reachable yet ({Error}); retrying")]
    partial void LogRetry(string error);
}
