using k8s.Models;

namespace Orchestrator.Tests.K8s.Manifests;

/// <summary>Only the cluster's own pods and the console path reach the silo, gateway and Redis ports.</summary>
public sealed class NetworkPolicyTests
{
    [Theory]
    [MemberData(nameof(RenderedOverlay.Names), MemberType = typeof(RenderedOverlay))]
    public void Every_pod_is_covered_by_an_ingress_policy(string overlay)
    {
        var o = RenderedOverlay.Get(overlay);
        var policies = o.All<V1NetworkPolicy>().ToList();
        foreach (var (owner, t) in o.PodTemplates())
            Assert.True(policies.Any(p => p.Spec.PolicyTypes.Contains("Ingress") && Selects(p.Spec.PodSelector, t.Metadata.Labels)),
                $"{owner}: no ingress policy selects its pods");
    }

    [Theory]
    [MemberData(nameof(RenderedOverlay.Names), MemberType = typeof(RenderedOverlay))]
    public void Ingress_comes_only_from_cluster_pods_or_labelled_console_pods_on_the_gateway_port(string overlay)
    {
        var o = RenderedOverlay.Get(overlay);
        var clusterPod = new Dictionary<string, string> { ["app.kubernetes.io/part-of"] = "orchestrator" };
        var consolePod = new Dictionary<string, string> { ["orchestrator/console"] = "true" };
        var strangerPod = new Dictionary<string, string> { ["app"] = "something-else" };
        int consoleRules = 0;
        foreach (var p in o.All<V1NetworkPolicy>())
        foreach (var rule in p.Spec.Ingress)
        {
            // An empty 'from' would admit every source; ipBlocks and namespace selectors would admit other tenants.
            Assert.NotEmpty(rule.FromProperty);
            foreach (var peer in rule.FromProperty)
            {
                Assert.Null(peer.IpBlock);
                Assert.Null(peer.NamespaceSelector);
                Assert.NotNull(peer.PodSelector);
                Assert.False(Selects(peer.PodSelector, strangerPod), $"{p.Metadata.Name} admits unrelated pods");
            }
            bool fromConsole = rule.FromProperty.Any(peer => Selects(peer.PodSelector, consolePod));
            bool fromCluster = rule.FromProperty.Any(peer => Selects(peer.PodSelector, clusterPod));
            Assert.True(fromConsole ^ fromCluster, $"{p.Metadata.Name}: a rule should admit either cluster pods or the console");
            if (fromConsole)
            {
                // The console gets the coordinator's gateway and web dashboard ports, nothing else.
                Assert.Equal(["TCP/30000", "TCP/9470"], rule.Ports.Select(port => $"{port.Protocol}/{port.Port.Value}").ToArray());
                consoleRules++;
            }
        }
        Assert.Equal(1, consoleRules);
        var console = o.Single<V1NetworkPolicy>("orch-console");
        Assert.True(Selects(console.Spec.PodSelector, o.Coordinator.Metadata.Labels));
        Assert.False(Selects(console.Spec.PodSelector, o.Worker.Metadata.Labels));
        Assert.False(Selects(console.Spec.PodSelector, o.Redis.Metadata.Labels));
        Assert.Contains(o.Single<V1Service>("orch-gateway").Spec.Ports, p => p.Name == "gateway" && p.Port == 30000);
    }

    [Theory]
    [MemberData(nameof(RenderedOverlay.Names), MemberType = typeof(RenderedOverlay))]
    public void The_dashboard_is_reached_only_through_the_coordinator_service_with_a_token(string overlay)
    {
        var o = RenderedOverlay.Get(overlay);
        var web = Assert.Single(o.Single<V1Service>("orch-gateway").Spec.Ports, p => p.Name == "web");
        Assert.Equal((9470, "web"), (web.Port, web.TargetPort.Value));
        // No other Service, and no NodePort or LoadBalancer, exposes it.
        Assert.All(o.All<V1Service>(), s => Assert.True(s.Spec.Type is null or "ClusterIP", $"{s.Metadata.Name} is {s.Spec.Type}"));
        Assert.DoesNotContain(o.All<V1Service>().Where(s => s.Metadata.Name != "orch-gateway"), s => s.Spec.Ports.Any(p => p.Port == 9470));
        var c = Assert.Single(o.Coordinator.Spec.Containers);
        Assert.Contains(c.Ports, p => p.Name == "web" && p.ContainerPort == 9470);
        // Bound beyond loopback (so the Service reaches it), hence with the token from the Secret.
        var args = c.Args.ToList();
        Assert.Equal("0.0.0.0", args[args.IndexOf("--web-bind") + 1]);
        string tokenFile = args[args.IndexOf("--web-token-file") + 1];
        var mount = Assert.Single(c.VolumeMounts, m => tokenFile.StartsWith(m.MountPath + "/", StringComparison.Ordinal));
        Assert.True(mount.ReadOnlyProperty);
        var volume = Assert.Single(o.Coordinator.Spec.Volumes, v => v.Name == mount.Name);
        Assert.Equal("orch-web-token", volume.Secret.SecretName);
        Assert.NotEqual(true, volume.Secret.Optional);
    }

    /// <summary>Label-selector semantics for matchLabels and the In/NotIn/Exists/DoesNotExist expressions.</summary>
    static bool Selects(V1LabelSelector selector, IDictionary<string, string> labels) =>
        (selector.MatchLabels ?? new Dictionary<string, string>()).All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value) &&
        (selector.MatchExpressions ?? []).All(e => e.OperatorProperty switch
        {
            "In" => labels.TryGetValue(e.Key, out var v) && e.Values.Contains(v),
            "NotIn" => !labels.TryGetValue(e.Key, out var v) || !e.Values.Contains(v),
            "Exists" => labels.ContainsKey(e.Key),
            "DoesNotExist" => !labels.ContainsKey(e.Key),
            _ => throw new InvalidDataException($"unknown selector operator {e.OperatorProperty}"),
        });
}
