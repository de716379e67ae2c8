using Orchestrator.Contracts.Runs;

namespace Orchestrator.Contracts.Experiments;

/// <summary>
/// One run of a sweep, as planned: Key is stable across retries and restarts (e.g. "n1.2e6-d3e7-s1"), the run id
/// changes with each attempt. N is non-embedding parameters (12·L·d²), Tokens the budget D the run trains on.
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
    [property: Id(7)] double? FlopBudget);
