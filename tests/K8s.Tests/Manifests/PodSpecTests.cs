using k8s.Models;

namespace Orchestrator.Tests.K8s.Manifests;

/// <summary>What every pod needs to run here: resources, probes, Orleans' labels and env, the shared volume.</summary>
public sealed class PodSpecTests
{
    const string SharedPath = "/shared";

    [Theory]
    [MemberData(nameof(RenderedOverlay.Names), MemberType = typeof(RenderedOverlay))]
    public void Every_container_has_cpu_and_memory_requests_and_limits_and_readiness_and_liveness_probes(string overlay)
    {
        var templates = RenderedOverlay.Get(overlay).PodTemplates().ToList();
        Assert.Equal(3, templates.Count);
        foreach (var (owner, t) in templates)
        foreach (var c in t.Spec.Containers.Concat(t.Spec.InitContainers ?? []))
        {
            var where = $"{owner} container {c.Name}";
            foreach (var r in new[] { "cpu", "memory" })
            {
                Assert.True(c.Resources?.Requests?.ContainsKey(r) == true, $"{where}: no {r} request");
                Assert.True(c.Resources?.Limits?.ContainsKey(r) == true, $"{where}: no {r} limit");
                Assert.True(c.Resources!.Requests[r].ToDecimal() <= c.Resources.Limits[r].ToDecimal(), $"{where}: {r} request above limit");
            }
            Assert.True(c.ReadinessProbe is not null, $"{where}: no readiness probe");
            Assert.True(c.LivenessProbe is not null, $"{where}: no liveness probe");
            Assert.False(c.SecurityContext?.AllowPrivilegeEscalation ?? true, $"{where}: privilege escalation allowed");
            Assert.True(t.Spec.SecurityContext?.RunAsNonRoot == true, $"{owner}: may run as root");
            // Probes name ports the container really declares.
            foreach (var probe in new[] { c.ReadinessProbe!, c.LivenessProbe!, c.StartupProbe })
                if (probe?.TcpSocket?.Port is { } port && port.Value is string named)
                    Assert.Contains(named, c.Ports.Select(p => p.Name));
        }
    }

    [Theory]
    [MemberData(nameof(RenderedOverlay.Names), MemberType = typeof(RenderedOverlay))]
    public void Silo_pods_carry_the_labels_and_downward_api_env_that_UseKubernetesHosting_reads(string overlay)
    {
        var o = RenderedOverlay.Get(overlay);
        foreach (var t in new[] { o.Coordinator, o.Worker })
        {
            Assert.Equal("orchestrator", t.Metadata.Labels["orleans/serviceId"]);
            Assert.Equal("orchestrator", t.Metadata.Labels["orleans/clusterId"]);
            var env = t.Spec.Containers.Single().Env.ToDictionary(e => e.Name);
            Assert.Equal("metadata.name", env["POD_NAME"].ValueFrom.FieldRef.FieldPath);
            Assert.Equal("metadata.namespace", env["POD_NAMESPACE"].ValueFrom.FieldRef.FieldPath);
            Assert.Equal("status.podIP", env["POD_IP"].ValueFrom.FieldRef.FieldPath);
            Assert.Equal("metadata.labels['orleans/serviceId']", env["ORLEANS_SERVICE_ID"].ValueFrom.FieldRef.FieldPath);
            Assert.Equal("metadata.labels['orleans/clusterId']", env["ORLEANS_CLUSTER_ID"].ValueFrom.FieldRef.FieldPath);
            Assert.Equal("orch-redis:6379", env["ORCH_REDIS"].Value);
            Assert.Equal(SharedPath, env["ORCH_SHARED"].Value);
        }
        // Redis is not a silo: Orleans must not count its pod as one.
        Assert.False(o.Redis.Metadata.Labels.ContainsKey("orleans/serviceId"));
    }

    [Theory]
    [MemberData(nameof(RenderedOverlay.Names), MemberType = typeof(RenderedOverlay))]
    public void Coordinator_and_workers_mount_the_shared_claim_at_the_same_path(string overlay)
    {
        var o = RenderedOverlay.Get(overlay);
        var claim = o.Single<V1PersistentVolumeClaim>("orch-shared");
        Assert.Equal(overlay == "gpu" ? ["ReadWriteMany"] : new[] { "ReadWriteOnce" }, claim.Spec.AccessModes);
        foreach (var t in new[] { o.Coordinator, o.Worker })
        {
            var volume = t.Spec.Volumes.Single(v => v.PersistentVolumeClaim?.ClaimName == "orch-shared");
            var mount = t.Spec.Containers.Single().VolumeMounts.Single(m => m.Name == volume.Name);
            Assert.Equal(SharedPath, mount.MountPath);
            Assert.NotEqual(true, mount.ReadOnlyProperty);
        }
    }

    [Theory]
    [InlineData("cpu", "cpu", 0)]
    [InlineData("gpu", "cuda:0", 1)]
    public void Workers_run_one_rank_per_pod_on_the_overlay_device_with_NCCL_env(string overlay, string device, int gpus)
    {
        var o = RenderedOverlay.Get(overlay);
        var set = o.Single<V1StatefulSet>("orch-worker");
        var c = set.Spec.Template.Spec.Containers.Single();
        string[] packing = gpus > 0 ? ["--slots", "4", "--mps"] : [];
        Assert.Equal(["worker", "--coordinator-silo", "orch-gateway:11111", "--port", "11111", "--device", device, "--name", "$(POD_NAME)", .. packing, "--token-file", "/var/run/orch-cluster/token"], c.Args);
        Assert.Equal(11111, c.Ports.Single(p => p.Name == "silo").ContainerPort);
        Assert.Contains(o.Single<V1Service>("orch-gateway").Spec.Ports, p => p.Name == "silo" && p.Port == 11111);
        Assert.Equal("Parallel", set.Spec.PodManagementPolicy);
        Assert.Equal("orch-workers", set.Spec.ServiceName);
        Assert.Equal("None", o.Single<V1Service>("orch-workers").Spec.ClusterIP);
        var budget = o.Single<V1PodDisruptionBudget>("orch-worker");
        Assert.Equal(1, budget.Spec.MaxUnavailable.Value is string s ? int.Parse(s) : System.Convert.ToInt32(budget.Spec.MaxUnavailable.Value));
        Assert.True(Matches(budget.Spec.Selector.MatchLabels, set.Spec.Template.Metadata.Labels));

        var env = c.Env.GroupBy(e => e.Name).ToDictionary(g => g.Key, g => g.Single());
        Assert.Equal("0", env["NCCL_NVLS_ENABLE"].Value);
        Assert.Equal("eth0", env["NCCL_SOCKET_IFNAME"].Value);

        if (gpus == 0)
        {
            Assert.False(c.Resources.Limits.ContainsKey("nvidia.com/gpu"));
            Assert.False(c.Resources.Requests.ContainsKey("nvidia.com/gpu"));
        }
        else
        {
            Assert.Equal(gpus, c.Resources.Limits["nvidia.com/gpu"].ToInt32());
            Assert.Equal(gpus, c.Resources.Requests["nvidia.com/gpu"].ToInt32());
            Assert.Contains(set.Spec.Template.Spec.Tolerations, t => t.Key == "nvidia.com/gpu" && t.Effect == "NoSchedule");
        }
        if (gpus > 0)
        {
            // The MPS daemon's pipe and log folders: pod-local and writable.
            Assert.Equal("/tmp/mps/pipe", env["CUDA_MPS_PIPE_DIRECTORY"].Value);
            Assert.Equal("/tmp/mps/log", env["CUDA_MPS_LOG_DIRECTORY"].Value);
            Assert.NotNull(set.Spec.Template.Spec.Volumes.Single(v => v.Name == "mps").EmptyDir);
            Assert.Contains(c.VolumeMounts, m => m.Name == "mps" && m.MountPath == "/tmp/mps");
        }
        var shm = set.Spec.Template.Spec.Volumes.Single(v => v.Name == "dshm");
        Assert.Equal("Memory", shm.EmptyDir.Medium);
        Assert.Contains(c.VolumeMounts, m => m.Name == "dshm" && m.MountPath == "/dev/shm");
        Assert.Equal(overlay == "gpu" ? "orchestrator/worker:0.1.0-cuda" : "orchestrator/worker:0.1.0-cpu", c.Image);
    }

    [Theory]
    [MemberData(nameof(RenderedOverlay.Names), MemberType = typeof(RenderedOverlay))]
    public void Silos_stop_gracefully_within_their_grace_period(string overlay)
    {
        var o = RenderedOverlay.Get(overlay);
        foreach (var t in new[] { o.Coordinator, o.Worker })
        {
            var c = t.Spec.Containers.Single();
            var grace = t.Spec.TerminationGracePeriodSeconds ?? 30;
            var hostTimeout = int.Parse(c.Env.Single(e => e.Name == "DOTNET_shutdownTimeoutSeconds").Value);
            var preStopSleep = c.Lifecycle?.PreStop is null ? 0 : 5;
            // SIGTERM arrives after preStop; the host then has its timeout to checkpoint and leave before SIGKILL.
            Assert.True(preStopSleep + hostTimeout < grace, $"{c.Name}: preStop {preStopSleep}s + host timeout {hostTimeout}s >= grace {grace}s");
        }
        var worker = o.Worker.Spec.Containers.Single();
        Assert.Equal(["/bin/sh", "-c", "sleep 5"], worker.Lifecycle.PreStop.Exec.Command);
        Assert.True(o.Worker.Spec.TerminationGracePeriodSeconds >= 120, "a worker needs minutes to write a checkpoint");
    }

    [Theory]
    [MemberData(nameof(RenderedOverlay.Names), MemberType = typeof(RenderedOverlay))]
    public void Coordinator_gateway_and_redis_are_wired_together(string overlay)
    {
        var o = RenderedOverlay.Get(overlay);
        var c = o.Coordinator.Spec.Containers.Single();
        Assert.Equal(["coordinator", "--redis", "orch-redis:6379", "--web-bind", "0.0.0.0", "--web-token-file", "/var/run/orch-web/token", "--metrics-bind", "0.0.0.0", "--token-file", "/var/run/orch-cluster/token"], c.Args);
        // The metrics port is scraped from other pods: bound to every interface, not loopback.
        Assert.Contains(c.Ports, p => p.ContainerPort == 9464);
        Assert.Equal(1, o.Single<V1Deployment>("orch-coordinator").Spec.Replicas);
        Assert.Equal("Recreate", o.Single<V1Deployment>("orch-coordinator").Spec.Strategy.Type);

        var gateway = o.Single<V1Service>("orch-gateway");
        Assert.Contains(gateway.Spec.Ports, p => p.Name == "gateway" && p.Port == 30000);
        Assert.Contains(c.Ports, p => p.Name == "gateway" && p.ContainerPort == 30000);

        var redis = o.Single<V1StatefulSet>("orch-redis");
        var rc = redis.Spec.Template.Spec.Containers.Single();
        Assert.Contains("--appendonly", rc.Args);
        Assert.Equal("yes", rc.Args[rc.Args.IndexOf("--appendonly") + 1]);
        var data = redis.Spec.VolumeClaimTemplates.Single();
        Assert.Contains(rc.VolumeMounts, m => m.Name == data.Metadata.Name && m.MountPath == "/data");
        Assert.Contains(o.Single<V1Service>("orch-redis").Spec.Ports, p => p.Port == 6379);
    }

    [Theory]
    [MemberData(nameof(RenderedOverlay.Names), MemberType = typeof(RenderedOverlay))]
    public void Selectors_match_their_pods_and_everything_lives_in_one_namespace(string overlay)
    {
        var o = RenderedOverlay.Get(overlay);
        var templates = o.PodTemplates().ToList();
        foreach (var s in o.All<V1StatefulSet>())
            Assert.True(Matches(s.Spec.Selector.MatchLabels, s.Spec.Template.Metadata.Labels), $"StatefulSet/{s.Metadata.Name}");
        foreach (var d in o.All<V1Deployment>())
            Assert.True(Matches(d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels), $"Deployment/{d.Metadata.Name}");
        foreach (var svc in o.All<V1Service>())
            Assert.Single(templates, t => Matches(svc.Spec.Selector, t.Template.Metadata.Labels));

        foreach (var obj in o.Objects.OfType<k8s.IKubernetesObject<V1ObjectMeta>>())
        {
            if (obj is V1Namespace ns) { Assert.Equal("orchestrator", ns.Metadata.Name); continue; }
            Assert.Equal("orchestrator", obj.Metadata.NamespaceProperty);
        }
    }

    static bool Matches(IDictionary<string, string> selector, IDictionary<string, string> labels) =>
        selector.Count > 0 && selector.All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value);
}
