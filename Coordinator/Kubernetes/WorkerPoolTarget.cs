using System.Text.RegularExpressions;

namespace Orchestrator.Coordinator.Kubernetes;

/// <summary>
/// Which worker pool a command acts on: the StatefulSet whose scale subresource sets the number of workers, and
/// the label selector of its pods. Defaults match k8s/base (namespace orchestrator, StatefulSet orch-worker).
/// </summary>
public sealed partial record WorkerPoolTarget(string Namespace, string StatefulSet, string PodSelector)
{
    public const string DefaultNamespace = "orchestrator";
    public const string DefaultStatefulSet = "orch-worker";
    public const string DefaultPodSelector = "app.kubernetes.io/name=orchestrator,app.kubernetes.io/component=worker";

    /// <summary>Validates user-given names up front, so a typo is a clear error and not a confusing 404.</summary>
    public static WorkerPoolTarget Create(string? @namespace = null, string? statefulSet = null, string? podSelector = null)
    {
        var ns = @namespace ?? DefaultNamespace;
        var name = statefulSet ?? DefaultStatefulSet;
        if (!DnsLabel().IsMatch(ns))
            throw new ArgumentException(
                $"--namespace '{ns}' is not a valid Kubernetes namespace: use lower-case letters, digits and '-', at most 63 characters (for example '{DefaultNamespace}')");
        if (name.Length > 253 || !DnsSubdomain().IsMatch(name))
            throw new ArgumentException(
                $"--statefulset '{name}' is not a valid StatefulSet name: use lower-case letters, digits, '-' and '.' (for example '{DefaultStatefulSet}')");
        return new WorkerPoolTarget(ns, name, podSelector ?? DefaultPodSelector);
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomain();
}
