using Orchestrator.Contracts.Workers;

namespace Orchestrator.Coordinator.Kubernetes;

/// <summary>One line of `orch workers list` on Kubernetes: a pod, the worker registered from it, or both.</summary>
public sealed record WorkerPodRow<TWorker>(WorkerPod? Pod, TWorker? Worker) where TWorker : class;

/// <summary>
/// Puts Kubernetes pods next to the workers registered with the coordinator. A worker belongs to a pod when it
/// advertised the pod's IP (workers advertise $POD_IP), or when its process (the id without a "/SLOT" suffix) is the
/// pod name or starts with "POD-" (the default id is HOST-DEVICE-PID and a pod's host name is its name). A pod may carry several registrations (a
/// Lost one from before a restart and the live one); a pod with none shows as not registered (still starting,
/// or failing to join), a worker with no pod as running elsewhere (or its pod is gone).
/// </summary>
public static class WorkerPodMatch
{
    public static IReadOnlyList<WorkerPodRow<TWorker>> Join<TWorker>(
        IReadOnlyList<WorkerPod> pods, IEnumerable<TWorker> workers, Func<TWorker, string> id, Func<TWorker, string?> host)
        where TWorker : class
    {
        var rows = new List<WorkerPodRow<TWorker>>();
        var claimed = new HashSet<WorkerPod>();
        var unmatched = new List<TWorker>();
        foreach (var w in workers)
        {
            var pod = pods.FirstOrDefault(p => p.PodIp is { Length: > 0 } ip && ip == host(w))
                ?? pods.FirstOrDefault(p => WorkerInfo.ProcessOf(id(w)) is var process
                    && (process == p.Name || process.StartsWith(p.Name + "-", StringComparison.Ordinal)));
            if (pod is null) { unmatched.Add(w); continue; }
            claimed.Add(pod);
            rows.Add(new WorkerPodRow<TWorker>(pod, w));
        }
        rows.AddRange(pods.Where(p => !claimed.Contains(p)).Select(p => new WorkerPodRow<TWorker>(p, null)));
        // Pod order (the StatefulSet ordinal), then workers without a pod, by id.
        var position = pods.Select((p, i) => (p, i)).ToDictionary(x => x.p, x => x.i);
        var ordered = rows
            .OrderBy(r => position[r.Pod!])
            .ThenBy(r => r.Worker is null ? "" : id(r.Worker), StringComparer.Ordinal)
            .ToList();
        ordered.AddRange(unmatched.OrderBy(id, StringComparer.Ordinal).Select(w => new WorkerPodRow<TWorker>(null, w)));
        return ordered;
    }
}
