using Orchestrator.Coordinator.Kubernetes;
using Orchestrator.Tests.K8s.Support;

namespace Orchestrator.Tests.K8s.Scaling;

/// <summary>
/// Connecting the way `orch workers scale --kubeconfig FILE --context NAME` does: a real kubeconfig file on disk whose
/// server is FakeKubernetesApi (the stand-in for a real API server).
/// </summary>
public sealed class KubeconfigTests : IDisposable
{
    readonly FakeKubernetesApi _api = new();
    readonly string _dir = Directory.CreateTempSubdirectory("orch-kubeconfig-").FullName;

    string WriteKubeconfig(string text)
    {
        var path = Path.Combine(_dir, "config");
        File.WriteAllText(path, text);
        return path;
    }

    string Kubeconfig() => WriteKubeconfig($"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: other
          cluster: {"{"}server: "http://127.0.0.1:1"{"}"}
        - name: fake
          cluster: {"{"}server: "http://127.0.0.1:{_api.Port}"{"}"}
        users:
        - name: alice
          user: {"{"}token: secret-token{"}"}
        contexts:
        - name: other
          context: {"{"}cluster: other, user: alice{"}"}
        - name: fake
          context: {"{"}cluster: fake, user: alice, namespace: default{"}"}
        current-context: other
        """);

    [Fact]
    public async Task The_named_context_picks_the_server_and_its_token_is_sent()
    {
        const string path = "/apis/apps/v1/namespaces/orchestrator/statefulsets/orch-worker/scale";
        _api.On("GET", path, 200, FakeKubernetesApi.Scale("orchestrator", "orch-worker", spec: 3, status: 3));

        // The context's namespace ('default') is not ours: without --namespace the pool stays in 'orchestrator'.
        using var pool = WorkerPool.Connect(kubeconfig: Kubeconfig(), context: "fake");
        var scale = await pool.GetScaleAsync();

        Assert.Equal(3, scale.Replicas);
        Assert.Equal($"kubeconfig {Path.Combine(_dir, "config")}", pool.Source);
        var request = _api.Requests.Single();
        Assert.Equal("GET " + path, $"{request.Method} {request.Path}");
        Assert.Equal("Bearer secret-token", request.Authorization);
    }

    [Fact]
    public void A_missing_kubeconfig_file_is_named()
    {
        var missing = Path.Combine(_dir, "nope");
        var e = Assert.Throws<FileNotFoundException>(() => WorkerPool.Connect(kubeconfig: missing));
        Assert.StartsWith($"--kubeconfig {missing}: no such file.", e.Message);
    }

    [Fact]
    public void An_unknown_context_is_bad_input_naming_the_file_and_context()
    {
        var file = Kubeconfig();
        var e = Assert.Throws<WorkerPoolException>(() => WorkerPool.Connect(kubeconfig: file, context: "prod"));
        Assert.True(e.IsBadInput);
        Assert.StartsWith($"kubeconfig {file} (context 'prod') is not usable: ", e.Message);
    }

    public void Dispose()
    {
        _api.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
