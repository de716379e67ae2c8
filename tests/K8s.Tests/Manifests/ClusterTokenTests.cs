using k8s.Models;

namespace Orchestrator.Tests.K8s.Manifests;

/// <summary>
/// The cluster token: one Secret (orch-cluster-token, key "token", created before the first apply), mounted read-only
/// into the coordinator and every worker pod and passed with --token-file, and given to consoles in the coordinator
/// pod as ORCH_CLUSTER_TOKEN; nothing else carries a token.
/// </summary>
public sealed class ClusterTokenTests
{
    const string Secret = "orch-cluster-token";

    [Theory]
    [MemberData(nameof(RenderedOverlay.Names), MemberType = typeof(RenderedOverlay))]
    public void Coordinator_and_workers_read_the_token_from_the_one_secret(string overlay)
    {
        var o = RenderedOverlay.Get(overlay);
        foreach (var template in new[] { o.Coordinator, o.Worker })
        {
            var c = template.Spec.Containers.Single();
            var args = c.Args.ToList();
            Assert.Equal(1, args.Count(a => a == "--token-file"));
            string file = args[args.IndexOf("--token-file") + 1];
            var mount = Assert.Single(c.VolumeMounts, m => file.StartsWith(m.MountPath + "/", StringComparison.Ordinal));
            Assert.Equal("/var/run/orch-cluster/token", file);
            Assert.True(mount.ReadOnlyProperty, $"{c.Name}: the token mount is read-only");
            var volume = Assert.Single(template.Spec.Volumes, v => v.Name == mount.Name);
            Assert.Equal(Secret, volume.Secret.SecretName);
            Assert.NotEqual(true, volume.Secret.Optional);
            Assert.Equal(Convert.ToInt32("440", 8), volume.Secret.DefaultMode); // the pod's group (fsGroup) reads it, nobody else
        }
        // Consoles run in the coordinator pod (kubectl exec) find the same token in their environment.
        var env = Assert.Single(o.Coordinator.Spec.Containers.Single().Env, e => e.Name == "ORCH_CLUSTER_TOKEN");
        Assert.Equal((Secret, "token"), (env.ValueFrom.SecretKeyRef.Name, env.ValueFrom.SecretKeyRef.Key));
        // No literal token anywhere in the manifests: the Secret is created outside them.
        Assert.DoesNotContain(o.All<V1Secret>(), s => s.Metadata.Name == Secret);
        Assert.DoesNotContain(o.PodTemplates().SelectMany(t => t.Template.Spec.Containers).SelectMany(c => c.Env ?? []),
            e => e.Name == "ORCH_CLUSTER_TOKEN" && e.Value is not null);
    }
}
