using System.Collections.Immutable;
using Orchestrator.Contracts.Workers;

namespace Orchestrator.Contracts.Runs;

/// <summary>
/// One training run, keyed by run id. Users submit through <see cref="Cluster.ISchedulerGrain.SubmitRunAsync"/>
/// (which names the run); workers talk to it from their training threads (rendezvous, progress).
/// </summary>
[Alias("orch.IRunGrain")]
public interface IRunGrain : IGrainWithStringKey
{
    /// <summary>Validates and stores the spec (throws <see cref="InvalidRunSpecException"/>), then asks for workers.</summary>
    [Alias("Submit")] Task<RunStatus> SubmitAsync(RunSpec spec);

    /// <summary>The run's status; throws <see cref="UnknownRunException"/> for an id nobody submitted.</summary>
    [Alias("GetStatus")] Task<RunStatus> GetStatusAsync();

    /// <summary>Stops every rank at its next step boundary; the run ends Cancelled. No-op on a finished run.</summary>
    [Alias("Cancel")] Task<RunStatus> CancelAsync(string reason);

    /// <summary>The scheduler offers idle workers; returns the ids the run takes (now, or at the next checkpoint).</summary>
    [Alias("OfferWorkers")] Task<ImmutableArray<string>> OfferWorkersAsync(ImmutableArray<WorkerInfo> workers);

    /// <summary>A member's process is gone (failure detection declared its silo dead).</summary>
    [Alias("WorkerLost")] Task WorkerLostAsync(string workerId, string reason);

    /// <summary>A rank posts its bootstrap for a generation and learns everyone's once all have arrived (polled).</summary>
    [Alias("Rendezvous")] Task<RendezvousReply> RendezvousAsync(RendezvousRequest request);

    /// <summary>A rank reports a batch of steps, checkpoints written, completion or failure.</summary>
    [Alias("Report")] Task<ReportOutcome> ReportAsync(ProgressReport report);

    /// <summary>
    /// A page of the log lines the run's ranks sent (<see cref="RunLogLine"/>), kept in memory only; throws
    /// <see cref="UnknownRunException"/> for an id nobody submitted and ArgumentException for a query out of range.
    /// </summary>
    [Alias("GetLogs")] Task<RunLogPage> GetLogsAsync(RunLogQuery query);
}
