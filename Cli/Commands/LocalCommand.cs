using System.CommandLine;
using System.Net;
using Orchestrator.Cli.Hosting;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Coordinator.Hosting;
using Orchestrator.Sharding.Launch;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// `orch local`: a coordinator and N CPU workers on this machine as child processes of one <see cref="ProcessGroup"/>
/// (Ctrl-C stops them all), and the per-user connection file console commands find the cluster by. Invariants: two
/// local clusters of one name never run at once, and the connection file exists only while this command runs.
/// </summary>
public static class LocalCommand
{
    public static Command Create()
    {
        var workers = new Option<int>("--workers", "-w") { Description = "CPU workers to start", DefaultValueFactory = _ => 2 };
        var name = new Option<string>("--name")
        { Description = "The cluster's name (its id): consoles pick it with --cluster NAME; its runs are kept under that name", DefaultValueFactory = _ => ClusterNames.LocalClusterName };
        var port = new Option<int>("--port") { Description = "Coordinator silo port (default 0: a free one)" };
        var gateway = new Option<int>("--gateway-port") { Description = "Coordinator gateway port (default 0: a free one)" };
        var metrics = new Option<int?>("--metrics-port") { Description = "Prometheus scrape port (default: a free one); 0: off" };
        var cmd = new Command("local", "Run a coordinator and N CPU workers on this machine as cluster NAME (Ctrl-C stops them all); console commands find it through its connection file")
        { workers, name, ClusterCommands.Slots, port, gateway, metrics, ClusterCommands.StateDir, ClusterCommands.Ephemeral, ClusterCommands.Redis, ClusterCommands.ProbeMs, ClusterCommands.MissedProbes, ClusterCommands.LogFormat, ClusterTokens.TokenFile };
        foreach (var o in DashboardFlags.All) cmd.Options.Add(o);
        CliAction.Set(cmd, async (pr, ct) =>
        {
            var web = DashboardFlags.Parse(pr);
            int n = pr.GetValue(workers);
            if (n is < 0 or > 256) throw new ArgumentException($"--workers: {n} is not 0..256");
            var clusterId = pr.GetValue(name)!;
            LocalClusters.RequireValidId(clusterId, "--name");
            if (LocalClusters.Live(clusterId) is { } running)
                throw new BadInputException($"a local cluster named '{clusterId}' is already running (pid {running.Pid}, gateway {running.Gateway}): stop it, or give this one another --name");
            if (pr.GetValue(port) is < 0 or > 65535 || pr.GetValue(gateway) is < 0 or > 65535 || pr.GetValue(metrics) is < 0 or > 65535)
                throw new ArgumentException("--port, --gateway-port, --metrics-port: give 0..65535");
            int siloPort = pr.GetValue(port) is > 0 and var sp ? sp : LocalPorts.FreePort();
            int gatewayPort = pr.GetValue(gateway) is > 0 and var gp ? gp : LocalPorts.FreePort();
            int metricsPort = pr.GetValue(metrics) ?? LocalPorts.FreePort();
            var redis = ClusterCommands.RedisOf(pr);
            var stateFolder = ClusterCommands.StateFolderOf(pr, clusterId, redis);
            string[] redisArgs = redis is null ? [] : ["--redis", redis];
            string[] stateArgs = stateFolder is null ? (redis is null ? ["--ephemeral"] : []) : ["--state-dir", stateFolder];
            string[] probeArgs = ["--probe-timeout-ms", $"{pr.GetValue(ClusterCommands.ProbeMs)}", "--missed-probes", $"{pr.GetValue(ClusterCommands.MissedProbes)}"];
            // The token: the file given, else $ORCH_CLUSTER_TOKEN (inherited), else the coordinator's default file,
            // which its workers and this user's consoles read (the connection file names a given one).
            var tokenFile = pr.GetValue(ClusterTokens.TokenFile) is { } tf ? Path.GetFullPath(tf) : null;
            if (tokenFile is not null) ClusterToken.ReadFile(tokenFile, "--token-file");
            string[] tokenArgs = tokenFile is null ? [] : ["--token-file", tokenFile];
            // N workers share this machine's cores: keep libtorch's thread pools from starving each other (and the silos' probes).
            // Per process, whatever its slots: the slots share the process's pool, and a run's floating-point sums
            // depend on the thread count, so a packed run gives exactly the losses it gives alone.
            int slots = ClusterCommands.SlotsOf(pr);
            Environment.SetEnvironmentVariable("ORCH_TORCH_THREADS", $"{Math.Max(1, Environment.ProcessorCount / Math.Max(1, n))}");
            await using var cluster = new ProcessGroup();
            // The coordinator says where its dashboard listens (the default port may be taken: then any free one).
            var dashboardUrl = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            var coord = cluster.StartSelf("coordinator", ["coordinator", "--cluster", clusterId, "--port", $"{siloPort}", "--gateway-port", $"{gatewayPort}",
                "--metrics-port", $"{metricsPort}", "--log-format", pr.GetValue(ClusterCommands.LogFormat)!, .. redisArgs, .. stateArgs, .. probeArgs, .. tokenArgs, .. DashboardFlags.Args(pr)],
                onLine: (line, err) =>
                {
                    (err ? Console.Error : Console.Out).WriteLine($"[coordinator] {line}");
                    if (!err && line.StartsWith("coordinator up:", StringComparison.Ordinal)) dashboardUrl.TrySetResult(DashboardFlags.DescribedIn(line));
                });
            var gw = new IPEndPoint(IPAddress.Loopback, gatewayPort);
            if (!await LocalPorts.WaitForPortAsync(gw, TimeSpan.FromSeconds(60), () => !coord.HasExited, ct))
                throw new InvalidOperationException($"the coordinator did not come up on {gw} (see its output above)");
            for (int i = 1; i <= n; i++)
                cluster.StartSelf($"worker-{i}", ["worker", "--cluster", clusterId, "--coordinator-silo", $"127.0.0.1:{siloPort}", "--name", $"worker-{i}", "--slots", $"{slots}",
                    "--log-format", pr.GetValue(ClusterCommands.LogFormat)!, .. redisArgs, .. probeArgs, .. tokenArgs]);
            string dashboard = "";
            if (web.Enabled)
            {
                try { dashboard = await dashboardUrl.Task.WaitAsync(TimeSpan.FromSeconds(60), ct); }
                catch (TimeoutException) { } // it says why on its own lines; the summary goes without the URL
            }
            LocalClusters.Write(new(clusterId, gw.ToString(), siloPort, metricsPort > 0 ? metricsPort : null, Environment.ProcessId, stateFolder, DateTimeOffset.UtcNow, tokenFile));
            try
            {
                Console.Out.WriteLine($"local cluster: {clusterId}, coordinator gateway {gw} (silo {siloPort}), {n} workers, " +
                    $"{(stateFolder is null ? (redis is null ? "in-memory state" : "state in Redis") : $"state in {stateFolder}")}" +
                    (metricsPort > 0 ? $", metrics http://localhost:{metricsPort}/metrics" : "") + dashboard +
                    $"; console commands find it (connection file {LocalClusters.FileOf(clusterId)}); Ctrl-C stops them all");
                try { await coord.WaitForExitAsync(ct); }
                catch (OperationCanceledException) { return CliAction.Ok; } // Ctrl-C: DisposeAsync stops every child
                Console.Error.WriteLine($"error: the coordinator exited with code {coord.ExitCode}; stopping the workers");
                return CliAction.Failure;
            }
            finally { LocalClusters.Remove(clusterId); }
        });
        return cmd;
    }
}
