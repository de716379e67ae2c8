using Orleans.Placement;

namespace Orchestrator.Contracts.Workers;

/// <summary>
/// Place a grain on the silo whose name equals the grain's key: a worker's grain must live in the worker's own
/// process (it hands commands to that process's training thread). The director lives in Coordinator/Placement.
/// </summary>
[GenerateSerializer, Immutable, Alias("orch.WorkerPlacement")]
public sealed class WorkerPlacementStrategy : PlacementStrategy
{
    public static readonly WorkerPlacementStrategy Instance = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class WorkerPlacementAttribute() : PlacementAttribute(WorkerPlacementStrategy.Instance);

/// <summary>
/// Place a control-plane grain (scheduler, runs) on a coordinator silo only, never on a worker that may die.
/// </summary>
[GenerateSerializer, Immutable, Alias("orch.ControlPlanePlacement")]
public sealed class ControlPlanePlacementStrategy : PlacementStrategy
{
    public static readonly ControlPlanePlacementStrategy Instance = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class ControlPlanePlacementAttribute() : PlacementAttribute(ControlPlanePlacementStrategy.Instance);
