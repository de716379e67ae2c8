using System.Collections.Immutable;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Contracts.Experiments;

[GenerateSerializer]
public enum SweepState
{
    Running = 0,
    Completed = 1,
    /// <summary>Done, but some runs failed after all their retries (the fit uses the rest).</summary>
    CompletedWithFailures = 2,
    Cancelled = 3,
}

/// <summary>One planned run's progress: which attempt, which run id, where it is.</summary>
[GenerateSerializer, Immutable, Alias("orch.SweepRunStatus")]
public sealed record SweepRunStatus
{
    [Id(0)] public PlannedRun Plan { get; init; } = null!;
    /// <summary>0 before the first submission.</summary>
    [Id(1)] public int Attempts { get; init; }
    [Id(2)] public string? RunId { get; init; }
    /// <summary>Null while queued (not yet submitted).</summary>
    [Id(3)] public RunState? State { get; init; }
    [Id(4)] public int Step { get; init; }
    [Id(5)] public int TotalSteps { get; init; }
    [Id(6)] public double? Loss { get; init; }
    /// <summary>Final validation loss (the fit's y) once Completed.</summary>
    [Id(7)] public double? ValLoss { get; init; }
    /// <summary>Tokens actually trained (steps × global batch × block), which the fit uses as D.</summary>
    [Id(8)] public long? TrainedTokens { get; init; }
    /// <summary>Why earlier attempts failed, oldest first.</summary>
    [Id(9)] public ImmutableArray<string> Failures { get; init; } = [];
    /// <summary>A trunk's committed checkpoints at its fork steps, from whichever attempt wrote them (branches start there).</summary>
    [Id(10)] public ImmutableArray<CheckpointRef> ForkPoints { get; init; } = [];
    /// <summary>A trunk's newest committed checkpoint over all attempts: a retried trunk starts from it, not from step 0.</summary>
    [Id(11)] public string? LastCheckpoint { get; init; }
    /// <summary>A branch: the trunk run id it was forked from.</summary>
    [Id(12)] public string? ParentRunId { get; init; }
    /// <summary>A search trial's loss at each ASHA rung it reached, in rung order.</summary>
    [Id(13)] public ImmutableArray<double> RungLosses { get; init; } = [];
    /// <summary>Set when ASHA stopped the trial at this rung (its curve is kept; it is not a failure).</summary>
    [Id(14)] public long? StoppedAtTokens { get; init; }
    public bool Ended => State is RunState.Completed || StoppedAtTokens is not null;
}

/// <summary>What `orch sweep status` shows.</summary>
[GenerateSerializer, Immutable, Alias("orch.SweepStatus")]
public sealed record SweepStatus
{
    [Id(0)] public string Id { get; init; } = "";
    [Id(1)] public string Name { get; init; } = "";
    [Id(2)] public SweepState State { get; init; }
    /// <summary>Storage/&lt;id&gt;: spec, per-run metrics and checkpoints, results.csv.</summary>
    [Id(3)] public string Folder { get; init; } = "";
    [Id(4)] public ImmutableArray<SweepRunStatus> Runs { get; init; } = [];
    [Id(5)] public DateTimeOffset CreatedAt { get; init; }
    [Id(6)] public DateTimeOffset? EndedAt { get; init; }
    [Id(7)] public SweepSpec? Spec { get; init; }
    /// <summary>lr: auto: the rule fitted to the search's best trials (set once every trial has ended).</summary>
    [Id(8)] public LrRuleFit? LrRule { get; init; }

    public int Done => Runs.Count(r => r.State is RunState.Completed);
    public int Failed => Runs.Count(r => (r.State is RunState.Failed or RunState.Cancelled) && r.StoppedAtTokens is null);
    public bool IsFinal => State is not SweepState.Running;
}

/// <summary>LR*(N) = Coefficient · N^Exponent, least squares in log-log space over the best trial of each size.</summary>
[GenerateSerializer, Immutable, Alias("orch.LrRuleFit")]
public sealed record LrRuleFit
{
    [Id(0)] public double Coefficient { get; init; }
    [Id(1)] public double Exponent { get; init; }
    /// <summary>95% interval of the exponent (t-distribution; NaN with 2 sizes, which fix the line exactly).</summary>
    [Id(2)] public double ExponentLow { get; init; }
    [Id(3)] public double ExponentHigh { get; init; }
    /// <summary>(N, best lr) the rule was fitted to.</summary>
    [Id(4)] public ImmutableArray<double> Sizes { get; init; } = [];
    [Id(5)] public ImmutableArray<double> BestLrs { get; init; } = [];
    /// <summary>
    /// When the search covered batch: B*(N) = BatchCoefficient·N^BatchExponent fitted to the same best trials (null
    /// otherwise), the exponent's 95% interval and the best batches.
    /// </summary>
    [Id(6)] public double? BatchCoefficient { get; init; }
    [Id(7)] public double? BatchExponent { get; init; }
    [Id(8)] public double BatchExponentLow { get; init; } = double.NaN;
    [Id(9)] public double BatchExponentHigh { get; init; } = double.NaN;
    [Id(10)] public ImmutableArray<double> BestBatches { get; init; } = [];

    public double LrAt(double n) => Coefficient * Math.Pow(n, Exponent);

    /// <summary>The fitted batch at N rounded to a whole number of sequences (at least 1); null without a batch fit.</summary>
    public int? BatchAt(double n) =>
        BatchCoefficient is { } c && BatchExponent is { } k ? (int)Math.Max(1, Math.Round(c * Math.Pow(n, k))) : null;
}
