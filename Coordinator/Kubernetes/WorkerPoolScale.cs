namespace Orchestrator.Coordinator.Kubernetes;

/// <summary>
/// The worker StatefulSet's scale subresource: <paramref name="Replicas"/> is the desired count (spec),
/// <paramref name="CurrentReplicas"/> the pods that exist now (status), <paramref name="PreviousReplicas"/> the
/// desired count before a scale command changed it (null when only read).
/// </summary>
public sealed record WorkerPoolScale(string Namespace, string StatefulSet, int? PreviousReplicas, int Replicas, int CurrentReplicas);
