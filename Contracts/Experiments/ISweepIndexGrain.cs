namespace Orchestrator.Contracts.Experiments;

/// <summary>
/// The ids of every sweep launched on this cluster, oldest first (one grain, key <see cref="Key"/>): experiment grains
/// add themselves on launch, so consoles and the dashboard can list sweeps without knowing their ids.
/// </summary>
[Alias("orch.ISweepIndexGrain")]
public interface ISweepIndexGrain : IGrainWithIntegerKey
{
    const long Key = 0;

    /// <summary>Idempotent.</summary>
    [Alias("Add")] Task AddAsync(string sweepId);

    [Alias("List")] Task<System.Collections.Immutable.ImmutableArray<string>> ListAsync();
}
