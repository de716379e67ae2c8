using k8s.Models;

namespace Orchestrator.Tests.K8s.Manifests;

/// <summary>RBAC grants exactly what Orleans' Kubernetes hosting and the scaler use, to exactly who uses it.</summary>
public sealed class RbacTests
{
    [Theory]
    [MemberData(nameof(RenderedOverlay.Names), MemberType = typeof(RenderedOverlay))]
    public void Roles_grant_pods_get_list_watch_patch_and_statefulsets_scale_get_patch_and_nothing_else(string overlay)
    {
        var o = RenderedOverlay.Get(overlay);
        Assert.Empty(o.All<V1ClusterRole>());
        Assert.Empty(o.All<V1ClusterRoleBinding>());

        var grants = o.All<V1Role>()
            .SelectMany(r => r.Rules.SelectMany(rule =>
                from g in rule.ApiGroups
                from res in rule.Resources
                from v in rule.Verbs
                select $"{r.Metadata.Name}: {(g == "" ? "core" : g)}/{res} {v}"))
            .Order(StringComparer.Ordinal)
            .ToArray();
        string[] expected =
        [
            "orch-scaler: apps/statefulsets/scale get",
            "orch-scaler: apps/statefulsets/scale patch",
            "orch-silo: core/pods get",
            "orch-silo: core/pods list",
            "orch-silo: core/pods patch",
            "orch-silo: core/pods watch",
        ];
        Assert.Equal(expected, grants);
        Assert.All(o.All<V1Role>().SelectMany(r => r.Rules), rule => Assert.Null(rule.NonResourceURLs));
        // The scaler may touch the worker StatefulSet only.
        Assert.Equal(["orch-worker"], o.Single<V1Role>("orch-scaler").Rules.Single().ResourceNames);
    }

    [Theory]
    [MemberData(nameof(RenderedOverlay.Names), MemberType = typeof(RenderedOverlay))]
    public void Workers_get_the_silo_role_only_and_the_coordinator_also_the_scaler(string overlay)
    {
        var o = RenderedOverlay.Get(overlay);
        var bound = o.All<V1RoleBinding>()
            .SelectMany(b => b.Subjects.Select(s => $"{s.Kind}/{s.NamespaceProperty}/{s.Name} -> {b.RoleRef.Kind}/{b.RoleRef.Name}"))
            .Order(StringComparer.Ordinal)
            .ToArray();
        string[] expected =
        [
            "ServiceAccount/orchestrator/orch-coordinator -> Role/orch-scaler",
            "ServiceAccount/orchestrator/orch-coordinator -> Role/orch-silo",
            "ServiceAccount/orchestrator/orch-worker -> Role/orch-silo",
        ];
        Assert.Equal(expected, bound);
        Assert.Equal("orch-worker", o.Worker.Spec.ServiceAccountName);
        Assert.Equal("orch-coordinator", o.Coordinator.Spec.ServiceAccountName);
        Assert.False(o.Redis.Spec.AutomountServiceAccountToken ?? true, "Redis needs no API access");
        Assert.Equal(
            ["orch-coordinator", "orch-worker"],
            o.All<V1ServiceAccount>().Select(a => a.Metadata.Name).Order(StringComparer.Ordinal).ToArray());
    }
}
