using Orchestrator.Contracts.Workers;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace Orchestrator.Coordinator.Placement;

/// <summary>
/// Activates a worker grain only on the live silo whose name is the grain key's process part (the key is a slot id:
/// the process name, or "PROCESS/SLOT" for a process with several slots), i.e. in the worker's own process.
/// When that process is gone there is nowhere to put it: the call fails instead of landing on another machine.
/// </summary>
public sealed class WorkerPlacementDirector(IClusterMembershipService membership) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = WorkerInfo.ProcessOf(target.GrainIdentity.Key.ToString()!);
        var members = membership.CurrentSnapshot.Members;
        foreach (var silo in context.GetCompatibleSilos(target))
            if (members.TryGetValue(silo, out var m) && m.Status == SiloStatus.Active && m.Name == key)
                return Task.FromResult(silo);
        throw new SiloUnavailableException($"worker '{key}' has no live process (no active silo named '{key}')");
    }
}
