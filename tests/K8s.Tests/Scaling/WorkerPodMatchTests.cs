using Orchestrator.Coordinator.Kubernetes;

namespace Orchestrator.Tests.K8s.Scaling;

/// <summary>Pods next to registered workers, as `orch workers list` shows them on Kubernetes.</summary>
public sealed class WorkerPodMatchTests
{
    sealed record Registered(string Id, string Host, string State);

    static WorkerPod Pod(string name, int ordinal, string? ip) => new(name, ordinal, "Running", ip is not null, false, ip, "node-a", 0, 1, null);

    [Fact]
    public void Workers_join_their_pod_by_advertised_ip_or_by_pod_name_and_the_rest_stand_alone()
    {
        var p0 = Pod("orch-worker-0", 0, "10.0.0.10");
        var p1 = Pod("orch-worker-1", 1, "10.0.0.11");
        var p2 = Pod("orch-worker-2", 2, null); // still starting: no IP, nothing registered
        var live0 = new Registered("orch-worker-0-cuda-0-1", "10.0.0.10", "Busy");
        var lost0 = new Registered("orch-worker-0-cuda-0-1-old", "10.0.0.99", "Lost"); // before a restart: old IP, same name prefix
        var live1 = new Registered("w1", "10.0.0.11", "Idle");
        var elsewhere = new Registered("laptop-cpu-4242", "192.168.1.5", "Idle");

        var rows = WorkerPodMatch.Join([p0, p1, p2], [elsewhere, live1, lost0, live0], w => w.Id, w => w.Host);

        Assert.Equal(
            [
                new WorkerPodRow<Registered>(p0, live0),
                new WorkerPodRow<Registered>(p0, lost0),
                new WorkerPodRow<Registered>(p1, live1),
                new WorkerPodRow<Registered>(p2, null),
                new WorkerPodRow<Registered>(null, elsewhere),
            ],
            rows);
    }

    [Fact]
    public void A_name_prefix_needs_the_dash_so_worker_1_is_not_worker_10()
    {
        var p1 = Pod("orch-worker-1", 1, "10.0.0.1");
        var p10 = Pod("orch-worker-10", 10, "10.0.0.10");
        var w = new Registered("orch-worker-10-cpu-1", "", "Idle");

        var rows = WorkerPodMatch.Join([p1, p10], [w], x => x.Id, x => x.Host);

        Assert.Equal([new WorkerPodRow<Registered>(p1, null), new WorkerPodRow<Registered>(p10, w)], rows);
    }

    [Fact]
    public void The_slots_of_a_worker_process_join_its_pod_by_name()
    {
        var p3 = Pod("orch-worker-3", 3, null);
        Registered s0 = new("orch-worker-3/0", "", "Busy"), s1 = new("orch-worker-3/1", "", "Idle");

        var rows = WorkerPodMatch.Join([p3], [s1, s0], x => x.Id, x => x.Host);

        Assert.Equal([new WorkerPodRow<Registered>(p3, s0), new WorkerPodRow<Registered>(p3, s1)], rows);
    }
}
