using System.Text.Json.Nodes;
using k8s;
using Orchestrator.Tests.K8s.Support;

namespace Orchestrator.Tests.K8s.Manifests;

/// <summary>
/// Every object an overlay yields parses into a typed KubernetesClient model and serializes back to the same
/// tree. The typed models ignore fields they do not know, so a misspelled or unknown field (readinessProbee,
/// a field from a newer API) shows up here as "dropped".
/// </summary>
public sealed class RoundTripTests
{
    [Theory]
    [MemberData(nameof(RenderedOverlay.Names), MemberType = typeof(RenderedOverlay))]
    public void Every_object_round_trips_through_the_typed_models_without_losing_a_field(string overlay)
    {
        var o = RenderedOverlay.Get(overlay);
        Assert.Equal(o.Documents.Count, o.Objects.Count);
        var problems = new List<string>();
        for (int i = 0; i < o.Objects.Count; i++)
        {
            var typed = o.Objects[i];
            Assert.NotEqual(typeof(object), typed.GetType());
            var back = JsonNode.Parse(KubernetesJson.Serialize(typed));
            var kind = o.Documents[i]?["kind"]?.GetValue<string>();
            var name = o.Documents[i]?["metadata"]?["name"]?.GetValue<string>();
            problems.AddRange(JsonTreeDiff.Compare(o.Documents[i], back).Select(d => $"{kind}/{name}: {d}"));
        }
        Assert.Empty(problems);
        // And the models' strict mode (unknown fields throw) agrees.
        Assert.Equal(o.Objects.Count, KubernetesYaml.LoadAllFromString(o.Yaml, strict: true).Count);
    }

    [Theory]
    [MemberData(nameof(RenderedOverlay.Names), MemberType = typeof(RenderedOverlay))]
    public void The_overlay_yields_exactly_the_expected_objects(string overlay)
    {
        var o = RenderedOverlay.Get(overlay);
        var names = o.Documents.Select(d => $"{d!["kind"]}/{d["metadata"]!["name"]}").Order(StringComparer.Ordinal).ToArray();
        string[] expected =
        [
            "Deployment/orch-coordinator",
            "Namespace/orchestrator",
            "NetworkPolicy/orch-console",
            "NetworkPolicy/orch-internal",
            "PersistentVolumeClaim/orch-shared",
            "PodDisruptionBudget/orch-worker",
            "Role/orch-scaler",
            "Role/orch-silo",
            "RoleBinding/orch-scaler",
            "RoleBinding/orch-silo",
            "Service/orch-gateway",
            "Service/orch-redis",
            "Service/orch-workers",
            "ServiceAccount/orch-coordinator",
            "ServiceAccount/orch-worker",
            "StatefulSet/orch-redis",
            "StatefulSet/orch-worker",
        ];
        Assert.Equal(expected, names);
    }

    [Fact]
    public void A_misspelled_field_is_reported_as_dropped()
    {
        // The check above must be able to fail: misspell one probe in the rendered worker and compare again.
        var yaml = RenderedOverlay.Get("cpu").Yaml;
        var at = yaml.IndexOf("readinessProbe:", yaml.IndexOf("name: orch-worker\n", StringComparison.Ordinal), StringComparison.Ordinal);
        var broken = new RenderedOverlay("broken", yaml[..at] + "readinessProbee:" + yaml[(at + "readinessProbe:".Length)..]);
        var diffs = Enumerable.Range(0, broken.Objects.Count)
            .SelectMany(i => JsonTreeDiff.Compare(broken.Documents[i], JsonNode.Parse(KubernetesJson.Serialize(broken.Objects[i]))))
            .ToList();
        Assert.Equal(["dropped: $.spec.template.spec.containers[0].readinessProbee"], diffs);
    }
}
