namespace Orchestrator.Contracts.Experiments;

/// <summary>
/// One sweep, keyed by sweep id: plans its runs, submits them through the scheduler with bounded concurrency, retries
/// failures, and persists its state so a restarted coordinator carries on (any call reactivates it).
/// </summary>
[Alias("orch.IExperimentGrain")]
public interface IExperimentGrain : IGrainWithStringKey
{
    /// <summary>Starts the sweep (idempotent for the same spec; throws ArgumentException for a different one on the same id).</summary>
    [Alias("Launch")] Task<SweepStatus> LaunchAsync(SweepSpec spec, IReadOnlyList<PlannedRun> plan);

    /// <summary>Throws <see cref="UnknownSweepException"/> for an id never launched.</summary>
    [Alias("GetStatus")] Task<SweepStatus> GetStatusAsync();

    [Alias("Cancel")] Task<SweepStatus> CancelAsync(string reason);

    /// <summary>
    /// Continues a cancelled sweep, or one that ended with failed runs: its runs that did not complete (nor were stopped by ASHA) go back to the
    /// queue (a run with a committed checkpoint resumes from it); completed runs are kept. A running or completed sweep
    /// is returned as it is.
    /// </summary>
    [Alias("Resume")] Task<SweepStatus> ResumeAsync();
}

[GenerateSerializer, Alias("orch.UnknownSweepException")]
public sealed class UnknownSweepException(string message) : ArgumentException(message);
