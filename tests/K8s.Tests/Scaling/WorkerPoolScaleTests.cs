using System.Net;
using System.Text.Json;
using Orchestrator.Coordinator.Kubernetes;
using Orchestrator.Tests.K8s.Support;

namespace Orchestrator.Tests.K8s.Scaling;

/// <summary>
/// `orch workers scale N` as the Kubernetes API server sees it. FakeKubernetesApi stands in for a real API server
/// (none runs in CI): it answers the StatefulSet scale subresource paths and records each request, so these tests
/// check what goes over the wire (path, verb, content type, body) and how the server's errors are reported.
/// </summary>
public sealed class WorkerPoolScaleTests : IDisposable
{
    const string ScalePath = "/apis/apps/v1/namespaces/orchestrator/statefulsets/orch-worker/scale";

    readonly FakeKubernetesApi _api = new();
    readonly WorkerPool _pool;

    public WorkerPoolScaleTests() => _pool = new WorkerPool(_api.Client(), WorkerPoolTarget.Create(), "kubeconfig test", ownsClient: true);

    [Fact]
    public async Task Scale_reads_the_scale_subresource_then_merge_patches_spec_replicas()
    {
        _api.On("GET", ScalePath, 200, FakeKubernetesApi.Scale("orchestrator", "orch-worker", spec: 2, status: 2));
        _api.On("PATCH", ScalePath, 200, FakeKubernetesApi.Scale("orchestrator", "orch-worker", spec: 5, status: 2));

        var result = await _pool.ScaleAsync(5);

        Assert.Equal(new WorkerPoolScale("orchestrator", "orch-worker", PreviousReplicas: 2, Replicas: 5, CurrentReplicas: 2), result);
        var requests = _api.Requests.ToArray();
        Assert.Equal(["GET " + ScalePath, "PATCH " + ScalePath], requests.Select(r => $"{r.Method} {r.Path}"));
        var patch = requests[1];
        Assert.Equal("application/merge-patch+json", patch.ContentType!.Split(';')[0].Trim());
        using var body = JsonDocument.Parse(patch.Body);
        Assert.Equal("""{"spec":{"replicas":5}}""", JsonSerializer.Serialize(body.RootElement));
        Assert.Equal("", requests[0].Body);
    }

    [Fact]
    public async Task Scale_to_zero_is_allowed_and_sent_as_zero()
    {
        _api.On("GET", ScalePath, 200, FakeKubernetesApi.Scale("orchestrator", "orch-worker", spec: 3, status: 3));
        _api.On("PATCH", ScalePath, 200, FakeKubernetesApi.Scale("orchestrator", "orch-worker", spec: 0, status: 3));

        var result = await _pool.ScaleAsync(0);

        Assert.Equal(0, result.Replicas);
        Assert.Equal("""{"spec":{"replicas":0}}""", _api.Requests.Last().Body);
    }

    [Fact]
    public async Task A_negative_count_is_refused_before_any_request()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _pool.ScaleAsync(-1));
        Assert.Empty(_api.Requests);
    }

    [Fact]
    public async Task Namespace_and_statefulset_names_reach_the_path()
    {
        const string path = "/apis/apps/v1/namespaces/team-a/statefulsets/gpu-pool/scale";
        _api.On("GET", path, 200, FakeKubernetesApi.Scale("team-a", "gpu-pool", spec: 1, status: 1));
        using var pool = new WorkerPool(_api.Client(), WorkerPoolTarget.Create("team-a", "gpu-pool"), "kubeconfig test", ownsClient: true);

        var scale = await pool.GetScaleAsync();

        Assert.Equal(new WorkerPoolScale("team-a", "gpu-pool", null, 1, 1), scale);
        Assert.Equal("GET " + path, _api.Requests.Select(r => $"{r.Method} {r.Path}").Single());
    }

    [Fact]
    public async Task A_missing_statefulset_is_a_clear_bad_input_error()
    {
        _api.On("GET", ScalePath, 404, FakeKubernetesApi.Status(404, "NotFound", "statefulsets.apps \\\"orch-worker\\\" not found"));

        var e = await Assert.ThrowsAsync<WorkerPoolException>(() => _pool.ScaleAsync(4));

        Assert.Equal(HttpStatusCode.NotFound, e.StatusCode);
        Assert.True(e.IsBadInput);
        Assert.Equal(
            "statefulset 'orch-worker' not found in namespace 'orchestrator' (server: statefulsets.apps \"orch-worker\" not found). " +
            "Deploy the manifests (kubectl apply -k k8s/overlays/cpu or k8s/overlays/gpu) or name the right one with --namespace and --statefulset (kubectl get statefulsets -A)",
            e.Message);
        Assert.DoesNotContain(_api.Requests, r => r.Method == "PATCH");
    }

    [Fact]
    public async Task A_forbidden_patch_names_the_missing_permission_and_the_role_that_grants_it()
    {
        _api.On("GET", ScalePath, 200, FakeKubernetesApi.Scale("orchestrator", "orch-worker", spec: 2, status: 2));
        const string denied = "statefulsets.apps \\\"orch-worker\\\" is forbidden: User \\\"alice\\\" cannot patch resource \\\"statefulsets/scale\\\" in API group \\\"apps\\\" in the namespace \\\"orchestrator\\\"";
        _api.On("PATCH", ScalePath, 403, FakeKubernetesApi.Status(403, "Forbidden", denied));

        var e = await Assert.ThrowsAsync<WorkerPoolException>(() => _pool.ScaleAsync(4));

        Assert.Equal(HttpStatusCode.Forbidden, e.StatusCode);
        Assert.False(e.IsBadInput);
        Assert.StartsWith("forbidden: kubeconfig test may not patch statefulsets/scale of 'orch-worker' in namespace 'orchestrator' (server: statefulsets.apps \"orch-worker\" is forbidden: User \"alice\" cannot patch", e.Message);
        Assert.Contains("The Role orch-scaler (k8s/base/rbac.yaml) grants statefulsets/scale get and patch to the orch-coordinator service account", e.Message);
    }

    [Fact]
    public async Task An_unreachable_server_says_so()
    {
        var port = _api.Port;
        _api.Dispose(); // nothing listens on the port any more
        using var pool = new WorkerPool(
            new k8s.Kubernetes(new k8s.KubernetesClientConfiguration { Host = $"http://127.0.0.1:{port}" }),
            WorkerPoolTarget.Create(), "kubeconfig test", ownsClient: true);

        var e = await Assert.ThrowsAsync<WorkerPoolException>(() => pool.GetScaleAsync());

        Assert.Null(e.StatusCode);
        Assert.StartsWith("cannot reach the Kubernetes API server (from kubeconfig test) to read statefulsets/scale of 'orch-worker'", e.Message);
    }

    [Theory]
    [InlineData("Orchestrator", null, "--namespace 'Orchestrator' is not a valid Kubernetes namespace")]
    [InlineData(null, "orch_worker", "--statefulset 'orch_worker' is not a valid StatefulSet name")]
    public void Invalid_names_are_refused_with_the_flag_named(string? ns, string? statefulSet, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => WorkerPoolTarget.Create(ns, statefulSet));
        Assert.StartsWith(message, e.Message);
    }

    public void Dispose()
    {
        _pool.Dispose();
        _api.Dispose();
    }
}
