using System.Collections.Immutable;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Workers;

namespace Orchestrator.Experiments.Sweeps;

/// <summary>
/// The list of launched sweep ids (persisted beside the sweeps themselves). Bounded: past <see cref="MaxSweeps"/> the
/// oldest ids leave the list (their grains and folders stay; `orch sweep status ID` still finds them).
/// </summary>
[ControlPlanePlacement]
public sealed class SweepIndexGrain(
    [PersistentState("sweeps", ClusterNames.Storage)] IPersistentState<SweepIndexState> store) : Grain, ISweepIndexGrain
{
    public const int MaxSweeps = 10_000;

    public async Task AddAsync(string sweepId)
    {
        var ids = store.State.Ids;
        if (ids.Contains(sweepId)) return;
        ids.Add(sweepId);
        if (ids.Count > MaxSweeps) ids.RemoveRange(0, ids.Count - MaxSweeps);
        await store.WriteStateAsync();
    }

    public Task<ImmutableArray<string>> ListAsync() => Task.FromResult(store.State.Ids.ToImmutableArray());
}

[GenerateSerializer, Alias("orch.SweepIndexState")]
public sealed class SweepIndexState
{
    [Id(0)] public List<string> Ids { get; set; } = [];
}
