using Microsoft.Extensions.Options;
using Orchestrator.Contracts.Cluster;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace Orchestrator.Coordinator.Placement;

/// <summary>Where control-plane grains may live.</summary>
public sealed class ControlPlanePlacementOptions
{
    /// <summary>
    /// Test clusters have no silo named coordinator*: let them use any silo. Real clusters never do, or a run
    /// could be activated on a worker that is about to die.
    /// </summary>
    public bool AllowAnySilo { get; set; }
}

/// <summary>
/// Activates runs and the scheduler on a coordinator silo (name starting with "coordinator"), spread by grain id
/// when there are several. No coordinator up: the call fails and the worker retries later (its state is in storage).
/// </summary>
public sealed class ControlPlanePlacementDirector(IClusterMembershipService membership, IOptions<ControlPlanePlacementOptions> options)
    : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var compatible = context.GetCompatibleSilos(target);
        var members = membership.CurrentSnapshot.Members;
        var coordinators = compatible
            .Where(s => members.TryGetValue(s, out var m) && m.Status == SiloStatus.Active
                && m.Name.StartsWith(ClusterNames.CoordinatorPrefix, StringComparison.Ordinal))
            .OrderBy(s => s.ToParsableString(), StringComparer.Ordinal).ToArray();
        if (coordinators.Length > 0)
            return Task.FromResult(coordinators[(int)((uint)target.GrainIdentity.GetUniformHashCode() % coordinators.Length)]);
        if (options.Value.AllowAnySilo && compatible.Length > 0)
            return Task.FromResult(compatible[(int)((uint)target.GrainIdentity.GetUniformHashCode() % compatible.Length)]);
        throw new SiloUnavailableException("no coordinator is up to host the control plane (start `orch coordinator`)");
    }
}
