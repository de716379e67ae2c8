namespace Orchestrator.Contracts.Runs;

/// <summary>
/// Where one generation of a run's wall time went on rank 0's worker, in seconds, measured by its training thread from
/// the assignment to the last report: everything but <see cref="Steps"/> is dead time between training steps.
/// <see cref="FirstStep"/> is the first step's time beyond a steady step (CUDA kernel warm-up, first allocations);
/// <see cref="EvalAndCheckpoint"/> is the time inside training stretches that is not step time (validation,
/// checkpoint writes, the final evaluation).
/// </summary>
[GenerateSerializer, Immutable, Alias("orch.RunPhases")]
public sealed record RunPhases
{
    /// <summary>Creating the job and this rank's communicator bootstrap.</summary>
    [Id(0)] public double Startup { get; init; }
    /// <summary>Waiting for every rank to arrive.</summary>
    [Id(1)] public double Rendezvous { get; init; }
    /// <summary>Building the model, optimizer and data loader, loading a checkpoint, the communicator.</summary>
    [Id(2)] public double Build { get; init; }
    [Id(3)] public double FirstStep { get; init; }
    /// <summary>Training steps (at the steady step time for the first).</summary>
    [Id(4)] public double Steps { get; init; }
    [Id(5)] public double EvalAndCheckpoint { get; init; }
    /// <summary>Sending metrics and checkpoint reports to the coordinator.</summary>
    [Id(6)] public double Reports { get; init; }
    /// <summary>From the assignment to the end of the last report.</summary>
    [Id(7)] public double Total { get; init; }
    [Id(8)] public int StepCount { get; init; }
}
