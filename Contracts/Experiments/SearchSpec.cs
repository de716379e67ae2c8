using System.Collections.Immutable;

namespace Orchestrator.Contracts.Experiments;

/// <summary>
/// A hyperparameter search over every model of a sweep (parsed and checked by Orchestrator.Experiments.Specs): each
/// trial is an ordinary run of <see cref="Tokens"/> tokens with one configuration. Grid takes the product of every
/// parameter's values; random draws <see cref="Trials"/> configurations from <see cref="Seed"/>. Parameters left out
/// keep the sweep's value (lr, warmup_steps, batch) or the trainer's default (weight_decay, beta2).
/// </summary>
[GenerateSerializer, Immutable, Alias("orch.SearchSpec")]
public sealed record SearchSpec
{
    /// <summary>grid or random.</summary>
    [Id(0)] public string Method { get; init; } = "grid";
    /// <summary>Random search: configurations drawn per model.</summary>
    [Id(1)] public int Trials { get; init; }
    [Id(2)] public int Seed { get; init; } = 1;
    /// <summary>Each trial's token budget (ASHA's maximum resource).</summary>
    [Id(3)] public long Tokens { get; init; }
    [Id(4)] public ImmutableArray<SearchParam> Params { get; init; } = [];
    /// <summary>Null: every trial runs its whole budget.</summary>
    [Id(5)] public AshaSpec? EarlyStop { get; init; }
}

/// <summary>
/// One searched parameter (lr, warmup, weight_decay, beta2 or batch): explicit Values, or a range [Min, Max] that random
/// search samples (log-uniform for lr, uniform otherwise) and grid search spaces Points values over (log-spaced for lr).
/// </summary>
[GenerateSerializer, Immutable, Alias("orch.SearchParam")]
public sealed record SearchParam
{
    [Id(0)] public string Name { get; init; } = "";
    [Id(1)] public ImmutableArray<double> Values { get; init; } = [];
    [Id(2)] public double? Min { get; init; }
    [Id(3)] public double? Max { get; init; }
    [Id(4)] public int? Points { get; init; }
}

/// <summary>
/// Asynchronous successive halving (Li et al. 2020, "A System for Massively Parallel Hyperparameter Tuning") as a
/// stopping rule: a trial that reaches a rung (tokens trained) goes on only while its loss there ranks in the best
/// 1/ReductionFactor of the trials of its model that have reached that rung so far.
/// </summary>
[GenerateSerializer, Immutable, Alias("orch.AshaSpec")]
public sealed record AshaSpec
{
    /// <summary>Increasing token counts, each below the trial budget.</summary>
    [Id(0)] public ImmutableArray<long> Rungs { get; init; } = [];
    [Id(1)] public int ReductionFactor { get; init; } = 3;
}

/// <summary>One trial's configuration, as planned (the values it runs with, defaults filled in).</summary>
[GenerateSerializer, Immutable, Alias("orch.TrialConfig")]
public sealed record TrialConfig(
    [property: Id(0)] int Index,
    [property: Id(1)] double Lr,
    [property: Id(2)] int WarmupSteps,
    [property: Id(3)] double? WeightDecay,
    [property: Id(4)] double? Beta2,
    [property: Id(5)] int Batch);
