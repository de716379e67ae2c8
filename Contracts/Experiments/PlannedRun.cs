using System.Collections.Immutable;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Contracts.Experiments;

/// <summary>
/// One run of a sweep, as planned: Key is stable across retries and restarts (e.g. "n1.2e6-d3e7-s1"), the run id
/// changes with each attempt. N is non-embedding parameters (12·L·d²), Tokens the budget D the run trains on.
/// A branching sweep plans trunks (Role Trunk: constant LR to the last fork step, checkpoints kept at ForkSteps) and
/// branches (Role Branch: Parent is the trunk's key; the run starts from the trunk's checkpoint of ForkStep and cools
/// down to Steps). WarmupSteps, when above 0, overrides the sweep's (a trunk and its branches must warm up alike).
/// Trial is set for a search trial (its configuration); LrAuto marks a scaling run whose Lr the search's fitted rule
/// fills in once every trial has ended (0 until then), and its Batch (with Steps for the same tokens) when the search
/// covered batch; Batch null: the sweep's batch.
/// </summary>
[GenerateSerializer, Immutable, Alias("orch.PlannedRun")]
public sealed record PlannedRun(
    [property: Id(0)] string Key,
    [property: Id(1)] ModelShape Model,
    [property: Id(2)] long NonEmbeddingParams,
    [property: Id(3)] long Tokens,
    [property: Id(4)] int Steps,
    [property: Id(5)] double Lr,
    [property: Id(6)] int Seed,
    [property: Id(7)] double? FlopBudget,
    [property: Id(8)] RunRole Role = RunRole.Single,
    [property: Id(9)] string? Parent = null,
    [property: Id(10)] int? ForkStep = null,
    [property: Id(11)] ImmutableArray<int>? ForkSteps = null,
    [property: Id(12)] int WarmupSteps = 0,
    [property: Id(13)] TrialConfig? Trial = null,
    [property: Id(14)] bool LrAuto = false,
    [property: Id(15)] int? Batch = null);

/// <summary>A planned run's part in its sweep: an ordinary run, a WSD trunk, or a cooldown branch of a trunk.</summary>
[GenerateSerializer]
public enum RunRole
{
    Single = 0,
    Trunk = 1,
    Branch = 2,
}
