using Orchestrator.Contracts.Workers;

namespace Orchestrator.Coordinator.Scheduling;

/// <summary>The registry and queue the scheduler persists (Redis in cluster mode: a restarted coordinator finds them).</summary>
[GenerateSerializer, Alias("orch.SchedulerState")]
public sealed class SchedulerState
{
    [Id(0)] public Dictionary<string, WorkerInfo> Workers { get; set; } = [];
    /// <summary>Every run id ever submitted, oldest first.</summary>
    [Id(1)] public List<string> Runs { get; set; } = [];
    /// <summary>Runs that still want workers, first come first served.</summary>
    [Id(2)] public List<string> Wanting { get; set; } = [];
    /// <summary>What each unfinished run needs per rank (memory, share), by run id: the packing's input.</summary>
    [Id(3)] public Dictionary<string, RunDemand> Demands { get; set; } = [];
}
