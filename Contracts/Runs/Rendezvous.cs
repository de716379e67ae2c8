using System.Collections.Immutable;

namespace Orchestrator.Contracts.Runs;

/// <summary>
/// What a worker is told to do for one membership generation: its rank in the world, and the checkpoint to resume from
/// (null: start fresh). Sent by the RunGrain to every member whenever the generation changes.
/// </summary>
[GenerateSerializer, Immutable, Alias("orch.RunAssignment")]
public sealed record RunAssignment(
    [property: Id(0)] string RunId,
    [property: Id(1)] RunSpec Spec,
    [property: Id(2)] int Generation,
    [property: Id(3)] int Rank,
    [property: Id(4)] int WorldSize,
    [property: Id(5)] ImmutableArray<string> Members,
    [property: Id(6)] CheckpointRef? ResumeFrom,
    [property: Id(7)] int TotalSteps)
{
    /// <summary>Whether <paramref name="other"/> names the same run, generation and rank: a copy (the coordinator resends
    /// an assignment to a rank late at the rendezvous), not a new generation.</summary>
    public bool IsCopyOf(RunAssignment other) => RunId == other.RunId && Generation == other.Generation && Rank == other.Rank;
}

/// <summary>
/// A rank's contribution to the communicator bootstrap of one generation: for the ring backend its listening endpoint
/// (host:port), for NCCL rank 0's unique id (base64) and empty strings from the others.
/// </summary>
[GenerateSerializer, Immutable, Alias("orch.RendezvousRequest")]
public sealed record RendezvousRequest(
    [property: Id(0)] string WorkerId,
    [property: Id(1)] int Generation,
    [property: Id(2)] int Rank,
    [property: Id(3)] string Bootstrap);

[GenerateSerializer]
public enum RendezvousOutcome
{
    /// <summary>Not every rank has arrived yet: ask again shortly.</summary>
    Waiting = 0,
    /// <summary>Everyone arrived: <see cref="RendezvousReply.Bootstraps"/> holds one entry per rank.</summary>
    Ready = 1,
    /// <summary>This generation is over (a member was lost or joined): drop it and wait for the next assignment.</summary>
    Stale = 2,
}

[GenerateSerializer, Immutable, Alias("orch.RendezvousReply")]
public sealed record RendezvousReply(
    [property: Id(0)] RendezvousOutcome Outcome,
    [property: Id(1)] ImmutableArray<string> Bootstraps);

/// <summary>
/// A batch of progress from one rank: the steps completed since the last report (metrics are reported in batches,
/// not per step), a checkpoint shard written, completion, or a failure, and the log lines logged since.
/// </summary>
[GenerateSerializer, Immutable, Alias("orch.ProgressReport")]
public sealed record ProgressReport
{
    [Id(0)] public string WorkerId { get; init; } = "";
    [Id(1)] public int Generation { get; init; }
    [Id(2)] public int Rank { get; init; }
    [Id(3)] public ImmutableArray<MetricPoint> Steps { get; init; } = [];
    /// <summary>Checkpoints whose shard this rank has written (durably: temp + rename) since the last report.</summary>
    [Id(4)] public ImmutableArray<CheckpointRef> CheckpointsWritten { get; init; } = [];
    /// <summary>The rank reached the run's last step and wrote its final checkpoint.</summary>
    [Id(5)] public bool Finished { get; init; }
    /// <summary>The job failed with this message.</summary>
    [Id(6)] public string? Error { get; init; }
    /// <summary>The failure came from communication with a peer (likely lost): wait for failure detection, don't fail the run.</summary>
    [Id(7)] public bool ErrorIsTransient { get; init; }
    [Id(8)] public double? FinalValLoss { get; init; }
    /// <summary>Rank 0, with the finishing report: where the generation's wall time went.</summary>
    [Id(9)] public RunPhases? Phases { get; init; }
    /// <summary>The lines this rank logged in the run's scope since the last report (Seq 0: the run grain numbers them).</summary>
    [Id(10)] public ImmutableArray<RunLogLine> Logs { get; init; } = [];

    /// <summary>Carries log lines and nothing else (the run's state does not change).</summary>
    public bool OnlyLogs => Steps.IsEmpty && CheckpointsWritten.IsEmpty && !Finished && Error is null && FinalValLoss is null && Phases is null;
}

[GenerateSerializer]
public enum ReportOutcome
{
    Continue = 0,
    /// <summary>The generation is over: stop at this step boundary and wait for the next assignment.</summary>
    Stale = 1,
    /// <summary>The run ended (cancelled, failed or completed): stop and become idle.</summary>
    Stop = 2,
}
