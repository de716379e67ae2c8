using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Coordinator.Runs;

/// <summary>
/// The lines a run's grain logs, in one place. Their wording is a contract: end-to-end tests and users' scripts wait
/// for them (`run ID: Completed`, `generation N: rendezvous of W ranks`), so change one only with its readers.
/// </summary>
static partial class RunGrainLog
{
    [LoggerMessage(LogLevel.Warning, "run {RunId}: its activation ended while {State} ({Reason})")]
    public static partial void Deactivated(this ILogger log, string runId, RunState state, string reason);
    [LoggerMessage(LogLevel.Information, "run {RunId}: submitted, {Steps} steps, {Min}..{Max} workers")]
    public static partial void Submitted(this ILogger log, string runId, int steps, int min, int max);
    [LoggerMessage(LogLevel.Information, "run {RunId} generation {Generation}: rendezvous of {WorldSize} ranks from step {Step} ({Reason})")]
    public static partial void Generation(this ILogger log, string runId, int generation, int worldSize, int step, string reason);
    [LoggerMessage(LogLevel.Information, "run {RunId} generation {Generation}: sent {WorkerId} its assignment again (not at the rendezvous after {Seconds} s)")]
    public static partial void Resent(this ILogger log, string runId, int generation, string workerId, double seconds);
    [LoggerMessage(LogLevel.Information, "run {RunId} generation {Generation}: running with {WorldSize} ranks")]
    public static partial void Running(this ILogger log, string runId, int generation, int worldSize);
    [LoggerMessage(LogLevel.Warning, "run {RunId} generation {Generation}: worker {WorkerId} lost: {Reason}")]
    public static partial void WorkerLost(this ILogger log, string runId, string workerId, int generation, string reason);
    [LoggerMessage(LogLevel.Information, "run {RunId} generation {Generation}: workers {Workers} join at the next checkpoint")]
    public static partial void Joining(this ILogger log, string runId, string workers, int generation);
    [LoggerMessage(LogLevel.Information, "run {RunId} generation {Generation}: checkpoint step {Step} committed at {Path}")]
    public static partial void CheckpointCommitted(this ILogger log, string runId, int step, int generation, string path);
    [LoggerMessage(LogLevel.Information, "run {RunId}: {State} ({Reason})")]
    public static partial void Ended(this ILogger log, string runId, RunState state, string reason);
}
