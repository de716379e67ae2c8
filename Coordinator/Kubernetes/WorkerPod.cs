namespace Orchestrator.Coordinator.Kubernetes;

/// <summary>
/// One worker pod as Kubernetes sees it, for `orch workers list` to show next to the registered workers.
/// <paramref name="Name"/> is also the worker's Orleans silo name (POD_NAME); <paramref name="Ordinal"/> comes from
/// the StatefulSet's name-N suffix; <paramref name="Gpus"/> is the pod's nvidia.com/gpu limit (0 on CPU pods).
/// </summary>
public sealed record WorkerPod(
    string Name,
    int? Ordinal,
    string Phase,
    bool Ready,
    bool Terminating,
    string? PodIp,
    string? Node,
    int Restarts,
    int Gpus,
    DateTimeOffset? StartedAt);
