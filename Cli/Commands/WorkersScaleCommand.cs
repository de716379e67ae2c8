using System.CommandLine;
using Orchestrator.Cli.Hosting;
using Orchestrator.Coordinator.Kubernetes;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// `orch workers scale N [--namespace NS] [--statefulset NAME] [--kubeconfig FILE] [--context NAME] [--wait]
/// [--timeout SECONDS] [--json]`: sets the number of worker pods by patching the worker StatefulSet's scale
/// subresource (in-cluster service account or kubeconfig). A thin wrapper over <see cref="WorkerPool"/>.
/// </summary>
public static class WorkersScaleCommand
{
    /// <summary>The `--json` document.</summary>
    public sealed record ScaleReport(
        string Namespace, string Statefulset, int? PreviousReplicas, int Replicas, int CurrentReplicas, int? ReadyReplicas);

    public static Command Create()
    {
        var count = new Argument<int>("N") { Description = "How many worker pods (one rank each) the pool should have; 0 stops them all" };
        var ns = new Option<string?>("--namespace", "-n") { Description = $"Namespace of the worker StatefulSet (default: the pod's own in a cluster, else {WorkerPoolTarget.DefaultNamespace})" };
        var statefulSet = new Option<string?>("--statefulset") { Description = $"Name of the worker StatefulSet (default {WorkerPoolTarget.DefaultStatefulSet})" };
        var kubeconfig = new Option<string?>("--kubeconfig") { Description = "Kubeconfig file (default: in-cluster service account, else $KUBECONFIG or ~/.kube/config)" };
        var context = new Option<string?>("--context") { Description = "Kubeconfig context to use (default: its current context)" };
        var wait = new Option<bool>("--wait") { Description = "Wait until N worker pods exist and are Ready" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds --wait waits", DefaultValueFactory = _ => 600 };
        var json = new Option<bool>("--json") { Description = "Print one JSON document" };
        var cmd = new Command("scale", "Scale the worker StatefulSet on Kubernetes") { count, ns, statefulSet, kubeconfig, context, wait, timeout, json };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            int n = pr.GetValue(count);
            if (n < 0) throw new BadInputException($"N must be 0 or more (got {n}): it is the number of worker pods");
            if (pr.GetValue(timeout) <= 0) throw new BadInputException($"--timeout must be a positive number of seconds (got {pr.GetValue(timeout)})");
            try
            {
                using var pool = WorkerPool.Connect(pr.GetValue(kubeconfig), pr.GetValue(context), pr.GetValue(ns), pr.GetValue(statefulSet));
                var scale = await pool.ScaleAsync(n, ct);
                int? ready = null;
                if (!pr.GetValue(json))
                    Console.WriteLine($"{scale.StatefulSet} (namespace {scale.Namespace}): {scale.PreviousReplicas} -> {scale.Replicas} workers; {scale.CurrentReplicas} pods exist now");
                if (pr.GetValue(wait))
                {
                    var progress = new StderrProgress(p => $"  {p.Ready}/{n} ready, {p.Existing} pods");
                    var pods = await pool.WaitUntilReadyAsync(n, TimeSpan.FromSeconds(pr.GetValue(timeout)), progress: progress, ct: ct);
                    ready = pods.Count(p => p.Ready);
                    scale = scale with { CurrentReplicas = pods.Count };
                    if (!pr.GetValue(json)) Console.WriteLine($"{ready} of {n} workers ready");
                }
                else if (!pr.GetValue(json))
                {
                    Console.WriteLine($"watch them: kubectl get pods -n {scale.Namespace} -l {pool.Target.PodSelector} -w   (or: orch workers scale {n} --wait)");
                }
                if (pr.GetValue(json))
                    JsonOutput.Write(new ScaleReport(scale.Namespace, scale.StatefulSet, scale.PreviousReplicas, scale.Replicas, scale.CurrentReplicas, ready));
                return CliAction.Ok;
            }
            catch (WorkerPoolException e) when (e.IsBadInput)
            {
                throw new BadInputException(e.Message);
            }
        });
        return cmd;
    }

    /// <summary>Writes each report at once, in order (Progress&lt;T&gt; would post them to the thread pool).</summary>
    sealed class StderrProgress(Func<(int Ready, int Existing), string> format) : IProgress<(int Ready, int Existing)>
    {
        public void Report((int Ready, int Existing) value) => Console.Error.WriteLine(format(value));
    }
}
