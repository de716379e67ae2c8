using System.Net;
using Orchestrator.Coordinator.Kubernetes;
using Orchestrator.Tests.K8s.Support;

namespace Orchestrator.Tests.K8s.Scaling;

/// <summary>
/// The pod listing `orch workers list` shows next to the registered workers, against FakeKubernetesApi (a stand-in
/// for a real API server that answers the pod list path from a canned PodList).
/// </summary>
public sealed class WorkerPodListTests : IDisposable
{
    const string PodsPath = "/api/v1/namespaces/orchestrator/pods";

    readonly FakeKubernetesApi _api = new();
    readonly WorkerPool _pool;

    public WorkerPodListTests() => _pool = new WorkerPool(_api.Client(), WorkerPoolTarget.Create(), "kubeconfig test", ownsClient: true);

    [Fact]
    public async Task Pods_are_listed_by_the_worker_label_selector_in_ordinal_order()
    {
        _api.On("GET", PodsPath, 200, """
            {"kind":"PodList","apiVersion":"v1","metadata":{},"items":[
              {"metadata":{"name":"orch-worker-10","namespace":"orchestrator","deletionTimestamp":"2026-11-22T10:00:00Z"},
               "spec":{"nodeName":"gpu-b","containers":[{"name":"worker","resources":{"limits":{"nvidia.com/gpu":"1"}}}]},
               "status":{"phase":"Running","podIP":"10.0.0.12","startTime":"2026-11-22T09:00:00Z",
                         "conditions":[{"type":"Ready","status":"False"}],
                         "containerStatuses":[{"name":"worker","restartCount":0,"ready":false,"image":"w","imageID":"","started":true}]}},
              {"metadata":{"name":"orch-worker-2","namespace":"orchestrator"},
               "spec":{"nodeName":"gpu-a","containers":[{"name":"worker","resources":{"limits":{"nvidia.com/gpu":"1"}}}]},
               "status":{"phase":"Running","podIP":"10.0.0.11","startTime":"2026-11-22T08:00:00Z",
                         "conditions":[{"type":"Ready","status":"True"}],
                         "containerStatuses":[{"name":"worker","restartCount":3,"ready":true,"image":"w","imageID":"","started":true}]}},
              {"metadata":{"name":"orch-worker-0","namespace":"orchestrator"},
               "spec":{"containers":[{"name":"worker"}]},
               "status":{"phase":"Pending"}}
            ]}
            """);

        var pods = await _pool.ListWorkerPodsAsync();

        var request = _api.Requests.Single();
        Assert.Equal("GET", request.Method);
        Assert.Equal(PodsPath, request.Path);
        var query = FakeKubernetesApi.QueryOf(request);
        Assert.Equal(WorkerPoolTarget.DefaultPodSelector, query["labelSelector"]);
        Assert.NotEqual("true", query.GetValueOrDefault("watch"));
        Assert.Equal(
            [
                new WorkerPod("orch-worker-0", 0, "Pending", false, false, null, null, 0, 0, null),
                new WorkerPod("orch-worker-2", 2, "Running", true, false, "10.0.0.11", "gpu-a", 3, 1, new DateTimeOffset(2026, 11, 22, 8, 0, 0, TimeSpan.Zero)),
                new WorkerPod("orch-worker-10", 10, "Running", false, true, "10.0.0.12", "gpu-b", 0, 1, new DateTimeOffset(2026, 11, 22, 9, 0, 0, TimeSpan.Zero)),
            ],
            pods);
    }

    [Fact]
    public async Task A_forbidden_pod_list_is_reported_with_the_verb_that_was_denied()
    {
        _api.On("GET", PodsPath, 403, FakeKubernetesApi.Status(403, "Forbidden", "pods is forbidden"));

        var e = await Assert.ThrowsAsync<WorkerPoolException>(() => _pool.ListWorkerPodsAsync());

        Assert.Equal(HttpStatusCode.Forbidden, e.StatusCode);
        Assert.StartsWith("forbidden: kubeconfig test may not list pods in namespace 'orchestrator' (server: pods is forbidden)", e.Message);
    }

    [Fact]
    public async Task Waiting_returns_once_every_wanted_pod_exists_and_is_ready_and_reports_each_change()
    {
        // The stand-in answers successive pod lists: 1 of 2 ready, the same again, then both ready.
        string[] answers = [PodList(("orch-worker-0", true), ("orch-worker-1", false)), PodList(("orch-worker-0", true), ("orch-worker-1", false)),
                            PodList(("orch-worker-0", true), ("orch-worker-1", true))];
        int served = 0;
        _api.On("GET", PodsPath, _ => new FakeKubernetesApi.Response(200, answers[Math.Min(Interlocked.Increment(ref served) - 1, answers.Length - 1)]));
        var reports = new List<(int Ready, int Existing)>();

        var pods = await _pool.WaitUntilReadyAsync(2, TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(1), new ListProgress(reports));

        Assert.Equal(["orch-worker-0", "orch-worker-1"], pods.Select(p => p.Name));
        Assert.Equal([(1, 2), (2, 2)], reports);
        Assert.Equal(3, _api.Requests.Count);
    }

    [Fact]
    public async Task Waiting_past_the_timeout_says_how_far_the_pool_got_and_how_to_look()
    {
        _api.On("GET", PodsPath, 200, PodList(("orch-worker-0", false)));

        var e = await Assert.ThrowsAsync<TimeoutException>(() => _pool.WaitUntilReadyAsync(1, TimeSpan.Zero));

        Assert.Equal(
            "0 of 1 workers ready after 0 s (1 pods exist). See why with: kubectl get pods -n orchestrator -l " +
            WorkerPoolTarget.DefaultPodSelector + "; kubectl describe pod -n orchestrator NAME",
            e.Message);
    }

    static string PodList(params (string Name, bool Ready)[] pods) =>
        "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{},\"items\":[" + string.Join(",", pods.Select(p =>
            $$$"""{"metadata":{"name":"{{{p.Name}}}"},"spec":{"containers":[{"name":"worker"}]},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"{{{(p.Ready ? "True" : "False")}}}"}]}}""")) + "]}";

    sealed class ListProgress(List<(int, int)> into) : IProgress<(int Ready, int Existing)>
    {
        public void Report((int Ready, int Existing) value) => into.Add(value);
    }

    public void Dispose()
    {
        _pool.Dispose();
        _api.Dispose();
    }
}
