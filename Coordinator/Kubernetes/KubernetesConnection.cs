using k8s;

namespace Orchestrator.Coordinator.Kubernetes;

/// <summary>
/// Finds the Kubernetes API server and credentials, in this order: an explicit kubeconfig file; the pod's own
/// service account when running in a cluster (how `kubectl exec deploy/orch-coordinator -- orch workers scale N`
/// works, under the orch-scaler Role); $KUBECONFIG or ~/.kube/config.
/// </summary>
public static class KubernetesConnection
{
    /// <summary>The configuration to use and a short description of where it came from (for error messages).</summary>
    public static (KubernetesClientConfiguration Config, string Source, bool InCluster) Resolve(string? kubeconfig, string? context)
    {
        if (!string.IsNullOrWhiteSpace(kubeconfig))
        {
            if (!File.Exists(kubeconfig))
                throw new FileNotFoundException(
                    $"--kubeconfig {kubeconfig}: no such file. Point it at a kubeconfig (kubectl config view --raw > FILE) or leave it out to use ~/.kube/config",
                    kubeconfig);
            return (FromFile(kubeconfig, context), $"kubeconfig {kubeconfig}", false);
        }

        if (KubernetesClientConfiguration.IsInCluster())
            return (KubernetesClientConfiguration.InClusterConfig(), "the pod's service account", true);

        var path = DefaultKubeconfigPath();
        if (path is null)
            throw new WorkerPoolException(
                "no Kubernetes configuration: not running inside a cluster and no kubeconfig found ($KUBECONFIG or ~/.kube/config). " +
                "Pass --kubeconfig FILE, set KUBECONFIG, or run the command in the coordinator pod (kubectl exec -n orchestrator deploy/orch-coordinator -- orch workers ...)",
                statusCode: null, isBadInput: true);
        return (FromFile(path, context), $"kubeconfig {path}", false);
    }

    /// <summary>
    /// Whether any configuration is there to try (an explicit file, a service account, a default kubeconfig): lets
    /// `orch workers list` skip the Kubernetes columns on a machine that has nothing to do with Kubernetes.
    /// </summary>
    public static bool IsConfigured(string? kubeconfig) =>
        !string.IsNullOrWhiteSpace(kubeconfig) || KubernetesClientConfiguration.IsInCluster() || DefaultKubeconfigPath() is not null;

    /// <summary>A client for the resolved configuration.</summary>
    public static (IKubernetes Client, string Source, string? Namespace) Connect(string? kubeconfig, string? context)
    {
        var (config, source, inCluster) = Resolve(kubeconfig, context);
        // In a pod, the namespace of its service account is the natural default (an overlay may have renamed it);
        // from a laptop, the kubeconfig context's namespace is usually 'default', which is never ours.
        var ns = inCluster ? config.Namespace : null;
        return (new k8s.Kubernetes(config), source, ns);
    }

    static KubernetesClientConfiguration FromFile(string path, string? context)
    {
        try
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(path, currentContext: context);
        }
        catch (k8s.Exceptions.KubeConfigException e)
        {
            var which = context is null ? "" : $" (context '{context}')";
            throw new WorkerPoolException(
                $"kubeconfig {path}{which} is not usable: {e.Message}. Check it with 'kubectl config view' and 'kubectl config get-contexts'",
                statusCode: null, isBadInput: true, e);
        }
    }

    static string? DefaultKubeconfigPath()
    {
        var env = Environment.GetEnvironmentVariable("KUBECONFIG");
        if (!string.IsNullOrWhiteSpace(env))
        {
            // kubectl merges a ':'-separated list; we use the first file that exists.
            foreach (var p in env.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                if (File.Exists(p)) return p;
        }
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var fallback = Path.Combine(home, ".kube", "config");
        return File.Exists(fallback) ? fallback : null;
    }
}
