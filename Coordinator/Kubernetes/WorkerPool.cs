using k8s;
using k8s.Models;

namespace Orchestrator.Coordinator.Kubernetes;

/// <summary>
/// The worker pool on Kubernetes: reads and patches the worker StatefulSet's scale subresource and lists its pods.
/// Only the verbs k8s/base/rbac.yaml grants are used: statefulsets/scale get + patch, pods list. Scaling only sets
/// how many worker pods exist; a run with workers {min, max} picks the change up at its next checkpoint
/// (new pods register with the coordinator; removed ones leave after checkpointing on SIGTERM).
/// </summary>
public sealed class WorkerPool : IDisposable
{
    readonly IKubernetes _client;
    readonly bool _ownsClient;

    public WorkerPool(IKubernetes client, WorkerPoolTarget target, string source = "this client", bool ownsClient = false)
    {
        _client = client;
        Target = target;
        Source = source;
        _ownsClient = ownsClient;
    }

    public WorkerPoolTarget Target { get; }

    /// <summary>Where the credentials came from ("kubeconfig ~/.kube/config", "the pod's service account").</summary>
    public string Source { get; }

    /// <summary>
    /// Connects through an explicit kubeconfig, the pod's service account, or ~/.kube/config (see
    /// <see cref="KubernetesConnection"/>). Namespace: the one given, else the pod's own, else orchestrator.
    /// </summary>
    public static WorkerPool Connect(string? kubeconfig = null, string? context = null, string? @namespace = null, string? statefulSet = null)
    {
        // Validate names before touching any configuration, so a typo is reported as such.
        var target = WorkerPoolTarget.Create(@namespace, statefulSet);
        var (client, source, podNamespace) = KubernetesConnection.Connect(kubeconfig, context);
        if (@namespace is null && !string.IsNullOrEmpty(podNamespace)) target = WorkerPoolTarget.Create(podNamespace, statefulSet);
        return new WorkerPool(client, target, source, ownsClient: true);
    }

    /// <summary>
    /// Like <see cref="Connect"/>, but null when there is no Kubernetes configuration at all (no kubeconfig, not in a
    /// cluster): for callers where Kubernetes is optional, such as `orch workers list`.
    /// </summary>
    public static WorkerPool? TryConnect(string? kubeconfig = null, string? context = null, string? @namespace = null, string? statefulSet = null) =>
        KubernetesConnection.IsConfigured(kubeconfig) ? Connect(kubeconfig, context, @namespace, statefulSet) : null;

    /// <summary>The desired and current number of workers.</summary>
    public async Task<WorkerPoolScale> GetScaleAsync(CancellationToken ct = default)
    {
        var scale = await Call(() => _client.AppsV1.ReadNamespacedStatefulSetScaleAsync(Target.StatefulSet, Target.Namespace, cancellationToken: ct),
            $"read statefulsets/scale of '{Target.StatefulSet}'", StatefulSetResource, ct);
        return ToScale(scale, previous: null);
    }

    /// <summary>
    /// Sets the number of worker pods with a JSON merge patch of the scale subresource ({"spec":{"replicas":N}}),
    /// after reading the current count so the caller can report "from -> to".
    /// </summary>
    public async Task<WorkerPoolScale> ScaleAsync(int replicas, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(replicas);
        var before = await GetScaleAsync(ct);
        var patch = new V1Patch($"{{\"spec\":{{\"replicas\":{replicas}}}}}", V1Patch.PatchType.MergePatch);
        var after = await Call(() => _client.AppsV1.PatchNamespacedStatefulSetScaleAsync(patch, Target.StatefulSet, Target.Namespace, cancellationToken: ct),
            $"patch statefulsets/scale of '{Target.StatefulSet}'", StatefulSetResource, ct);
        return ToScale(after, before.Replicas);
    }

    /// <summary>The worker pods (by <see cref="WorkerPoolTarget.PodSelector"/>), ordered by StatefulSet ordinal.</summary>
    public async Task<IReadOnlyList<WorkerPod>> ListWorkerPodsAsync(CancellationToken ct = default)
    {
        var list = await Call(() => _client.CoreV1.ListNamespacedPodAsync(Target.Namespace, labelSelector: Target.PodSelector, cancellationToken: ct),
            "list pods", "pods", ct);
        return list.Items.Select(ToWorkerPod)
            .OrderBy(p => p.Ordinal ?? int.MaxValue).ThenBy(p => p.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// Polls the worker pods until exactly <paramref name="replicas"/> exist, none terminating, all Ready; reports
    /// each change of (ready, existing) through <paramref name="progress"/>. Polling (not a watch) keeps this to the
    /// pods list verb and survives API server restarts; a few requests a second is nothing to an API server.
    /// </summary>
    /// <exception cref="TimeoutException">The pool did not settle within <paramref name="timeout"/>.</exception>
    public async Task<IReadOnlyList<WorkerPod>> WaitUntilReadyAsync(
        int replicas, TimeSpan timeout, TimeSpan? pollInterval = null, IProgress<(int Ready, int Existing)>? progress = null,
        CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(replicas);
        var interval = pollInterval ?? TimeSpan.FromSeconds(2);
        var deadline = DateTimeOffset.UtcNow + timeout;
        (int Ready, int Existing) last = (-1, -1);
        while (true)
        {
            var pods = await ListWorkerPodsAsync(ct);
            var now = (Ready: pods.Count(p => p.Ready && !p.Terminating), Existing: pods.Count);
            if (now != last) progress?.Report(now);
            last = now;
            if (now.Existing == replicas && now.Ready == replicas) return pods;
            if (DateTimeOffset.UtcNow >= deadline)
                throw new TimeoutException(
                    $"{now.Ready} of {replicas} workers ready after {timeout.TotalSeconds:0} s ({now.Existing} pods exist). " +
                    $"See why with: kubectl get pods -n {Target.Namespace} -l {Target.PodSelector}; kubectl describe pod -n {Target.Namespace} NAME");
            await Task.Delay(interval, ct);
        }
    }

    string StatefulSetResource => $"statefulset '{Target.StatefulSet}'";

    /// <param name="action">What we try, for messages: "patch statefulsets/scale of 'orch-worker'".</param>
    /// <param name="resource">What a 404 means is missing: "statefulset 'orch-worker'".</param>
    async Task<T> Call<T>(Func<Task<T>> call, string action, string resource, CancellationToken ct)
    {
        try
        {
            return await call();
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            throw KubernetesErrors.Translate(e, action, resource, Target, Source);
        }
    }

    WorkerPoolScale ToScale(V1Scale scale, int? previous) =>
        new(Target.Namespace, Target.StatefulSet, previous, scale.Spec?.Replicas ?? 0, scale.Status?.Replicas ?? 0);

    static WorkerPod ToWorkerPod(V1Pod pod)
    {
        var name = pod.Metadata?.Name ?? "";
        int dash = name.LastIndexOf('-');
        int? ordinal = dash >= 0 && int.TryParse(name.AsSpan(dash + 1), out var n) ? n : null;
        var ready = pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") ?? false;
        var restarts = pod.Status?.ContainerStatuses?.Sum(c => c.RestartCount) ?? 0;
        int gpus = 0;
        foreach (var c in pod.Spec?.Containers ?? [])
            if (c.Resources?.Limits is { } limits && limits.TryGetValue("nvidia.com/gpu", out var q))
                gpus += q.ToInt32();
        return new WorkerPod(
            Name: name,
            Ordinal: ordinal,
            Phase: pod.Status?.Phase ?? "Unknown",
            Ready: ready,
            Terminating: pod.Metadata?.DeletionTimestamp is not null,
            PodIp: pod.Status?.PodIP,
            Node: pod.Spec?.NodeName,
            Restarts: restarts,
            Gpus: gpus,
            StartedAt: pod.Status?.StartTime is { } t ? new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)) : null);
    }

    public void Dispose()
    {
        if (_ownsClient) _client.Dispose();
    }
}
