using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Orchestrator.Tests.K8s.Support;

namespace Orchestrator.Tests.K8s.Manifests;

/// <summary>
/// One overlay as `kubectl kustomize` renders it: the YAML, each document as a JSON tree, and the same documents
/// as typed KubernetesClient models (V1StatefulSet, V1Role, ...), in the same order.
/// </summary>
sealed class RenderedOverlay
{
    static readonly ConcurrentDictionary<string, Lazy<RenderedOverlay>> Cache = new();

    public static IEnumerable<object[]> Names => [["cpu"], ["gpu"]];

    public static RenderedOverlay Get(string overlay) =>
        Cache.GetOrAdd(overlay, o => new Lazy<RenderedOverlay>(() => new RenderedOverlay(o, Kustomize.Render($"k8s/overlays/{o}")))).Value;

    public RenderedOverlay(string name, string yaml)
    {
        Name = name;
        Yaml = yaml;
        Documents = YamlJson.LoadAll(yaml);
        Objects = KubernetesYaml.LoadAllFromString(yaml);
    }

    public string Name { get; }
    public string Yaml { get; }
    public IReadOnlyList<JsonNode?> Documents { get; }
    public IReadOnlyList<object> Objects { get; }

    public IEnumerable<T> All<T>() => Objects.OfType<T>();

    public T Single<T>(string name) where T : IKubernetesObject<V1ObjectMeta> =>
        Objects.OfType<T>().Single(o => o.Metadata.Name == name);

    /// <summary>Every pod template with the name of the workload that owns it.</summary>
    public IEnumerable<(string Owner, V1PodTemplateSpec Template)> PodTemplates() =>
        All<V1Deployment>().Select(d => ($"Deployment/{d.Metadata.Name}", d.Spec.Template))
            .Concat(All<V1StatefulSet>().Select(s => ($"StatefulSet/{s.Metadata.Name}", s.Spec.Template)))
            .Concat(All<V1DaemonSet>().Select(s => ($"DaemonSet/{s.Metadata.Name}", s.Spec.Template)))
            .Concat(All<V1Job>().Select(j => ($"Job/{j.Metadata.Name}", j.Spec.Template)));

    public V1PodTemplateSpec Worker => Single<V1StatefulSet>("orch-worker").Spec.Template;
    public V1PodTemplateSpec Coordinator => Single<V1Deployment>("orch-coordinator").Spec.Template;
    public V1PodTemplateSpec Redis => Single<V1StatefulSet>("orch-redis").Spec.Template;
}
