using System.CommandLine;
using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orchestrator.Cli.Hosting;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Workers;
using Orchestrator.Coordinator.Hosting;
using Orchestrator.Dashboard.Web;
using Orchestrator.Sharding.Interop;
using Orchestrator.Sharding.Launch;
using Orchestrator.Worker.Hosting;
using Orleans.Configuration;
using Orleans.Runtime;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// The process entry points: `orch coordinator` (control-plane silo), `orch worker` (one device: a silo that hosts
/// its own worker grain and training thread) and `orch local` (both, as separate processes, in one command:
/// <see cref="LocalCommand"/>). The flags they share are here, so the three spell and check them alike.
/// </summary>
public static class ClusterCommands
{
    internal static readonly Option<string?> Redis = new("--redis")
    { Description = "Cluster mode: Redis connection (host:port) for membership and run state; default $ORCH_REDIS" };

    internal static readonly Option<int> ProbeMs = new("--probe-timeout-ms")
    { Description = "Failure detection: probe timeout (a dead process is noticed after about timeout x missed probes)", DefaultValueFactory = _ => 2000 };
    internal static readonly Option<int> MissedProbes = new("--missed-probes")
    { Description = "Failure detection: missed probes before a process is declared dead", DefaultValueFactory = _ => 3 };

    static readonly Option<string?> ClusterId = new("--cluster")
    { Description = "The cluster's name (id): consoles and workers of another cluster are refused; default $ORCH_CLUSTER or orch" };
    internal static readonly Option<string?> StateDir = new("--state-dir")
    { Description = "Embedded mode: the folder runs and sweeps are kept in across restarts; default STATE/clusters/CLUSTER/state (STATE: $ORCH_STATE_DIR, $XDG_STATE_HOME/orch or ~/.local/state/orch)" };
    internal static readonly Option<bool> Ephemeral = new("--ephemeral")
    { Description = "Embedded mode: keep runs and sweeps in memory only (lost when the coordinator stops)" };

    internal static readonly Option<string> LogFormat = new("--log-format")
    { Description = "Log lines as text (one line per event) or json (one JSON object per event, for log collectors)", DefaultValueFactory = _ => "text" };
    static readonly Option<string> MetricsBind = new("--metrics-bind")
    { Description = "Address the Prometheus endpoint listens on: 127.0.0.1 (this machine only) or 0.0.0.0 (every interface, as in Kubernetes)", DefaultValueFactory = _ => "127.0.0.1" };

    static ClusterCommands()
    {
        LogFormat.AcceptOnlyFromAmong("text", "json");
    }

    public static IEnumerable<Command> Create() => [Coordinator(), Worker(), LocalCommand.Create()];

    static string ClusterIdOf(ParseResult pr)
    {
        var id = pr.GetValue(ClusterId) ?? (Environment.GetEnvironmentVariable("ORCH_CLUSTER") is { Length: > 0 } env ? env : ClusterNames.ClusterId);
        LocalClusters.RequireValidId(id, "--cluster");
        return id;
    }

    /// <summary>Where an embedded coordinator keeps its grain state: null with --ephemeral or in Redis mode (Redis keeps it).</summary>
    internal static string? StateFolderOf(ParseResult pr, string clusterId, string? redis)
    {
        if (pr.GetValue(Ephemeral) && pr.GetValue(StateDir) is not null) throw new ArgumentException("--ephemeral and --state-dir: give one (memory, or that folder)");
        if (redis is not null)
        {
            if (pr.GetValue(StateDir) is not null) throw new ArgumentException("--state-dir: Redis keeps the state in cluster mode (--redis); drop one of them");
            return null;
        }
        return pr.GetValue(Ephemeral) ? null : Path.GetFullPath(pr.GetValue(StateDir) ?? LocalClusters.StateFolderOf(clusterId));
    }

    static SiloSettings WithProbes(SiloSettings s, ParseResult pr)
    {
        int ms = pr.GetValue(ProbeMs), missed = pr.GetValue(MissedProbes);
        if (ms is < 100 or > 60_000) throw new ArgumentException($"--probe-timeout-ms: {ms} is not 100..60000");
        if (missed is < 1 or > 10) throw new ArgumentException($"--missed-probes: {missed} is not 1..10");
        return s with { ProbeTimeout = TimeSpan.FromMilliseconds(ms), MissedProbes = missed };
    }

    static Command Coordinator()
    {
        var port = new Option<int>("--port") { Description = "Silo port (workers join here)", DefaultValueFactory = _ => ClusterNames.DefaultSiloPort };
        var gateway = new Option<int>("--gateway-port") { Description = "Gateway port (consoles connect here)", DefaultValueFactory = _ => ClusterNames.DefaultGatewayPort };
        var metrics = new Option<int>("--metrics-port") { Description = "Prometheus scrape port (/metrics); 0: off", DefaultValueFactory = _ => 9464 };
        var advertise = new Option<string?>("--advertise") { Description = "Address other hosts reach this one at (cluster mode); default $POD_IP or 127.0.0.1" };
        var cmd = new Command("coordinator", "Run the coordinator silo (runs, scheduler, worker registry) and its web dashboard") { Redis, port, gateway, metrics, MetricsBind, advertise, ClusterId, StateDir, Ephemeral, ProbeMs, MissedProbes, LogFormat, ClusterTokens.TokenFile };
        foreach (var o in DashboardFlags.All) cmd.Options.Add(o);
        CliAction.Set(cmd, async (pr, ct) =>
        {
            var web = DashboardFlags.Parse(pr);
            var clusterId = ClusterIdOf(pr);
            var redis = RedisOf(pr);
            var stateFolder = StateFolderOf(pr, clusterId, redis);
            using var stateLock = stateFolder is null ? null : StateFolderLock.Take(stateFolder);
            // Before the silo listens: a worker or console on this machine reads the file once the coordinator answers.
            var (token, tokenWhere) = ClusterTokens.ForCoordinator(pr.GetValue(ClusterTokens.TokenFile), clusterId);
            var settings = new SiloSettings
            {
                Name = ClusterNames.CoordinatorPrefix, IsCoordinator = true, Redis = redis, ClusterId = clusterId, StateFolder = stateFolder, Token = token,
                SiloPort = pr.GetValue(port), GatewayPort = pr.GetValue(gateway), Advertise = AdvertiseOf(pr.GetValue(advertise)),
            };
            settings = WithProbes(settings, pr);
            using var host = CoordinatorHost.Build(settings, pr.GetValue(metrics), pr.GetValue(MetricsBind)!, pr.GetValue(LogFormat)!);
            await StartOrExplainAsync(host, $"the coordinator on ports {settings.SiloPort}/{settings.GatewayPort}", ct);
            await using var dashboard = web.Enabled ? await StartDashboardAsync(web, DashboardFlags.IsDefaultPort(pr), host, ct) : null;
            Console.Out.WriteLine($"coordinator up: cluster {clusterId}, silo {settings.Advertise}:{settings.SiloPort}, gateway {settings.Advertise}:{settings.GatewayPort}, " +
                $"{(settings.Redis is not null ? "Redis " + settings.Redis : stateFolder is null ? "embedded (in-memory state)" : $"embedded (state in {stateFolder})")}, cluster {tokenWhere}" +
                (pr.GetValue(metrics) > 0 ? $", metrics http://{CoordinatorHost.ListenerHost(pr.GetValue(MetricsBind)!)}:{pr.GetValue(metrics)}/metrics" : "") + DashboardFlags.Describe(dashboard?.Options ?? web));
            await WaitForShutdownAsync(host, ct);
            return CliAction.Ok;
        });
        return cmd;
    }

    static Command Worker()
    {
        var coordinator = new Option<string>("--coordinator-silo") { Description = "The coordinator's silo endpoint HOST:PORT (embedded mode; console commands' --coordinator is its gateway)", DefaultValueFactory = _ => $"127.0.0.1:{ClusterNames.DefaultSiloPort}" };
        var device = new Option<string>("--device") { Description = "cpu or cuda:N", DefaultValueFactory = _ => "cpu" };
        var name = new Option<string?>("--name") { Description = "Worker id (default HOST-DEVICE-PID)" };
        var port = new Option<int>("--port") { Description = "This worker's silo port (0: any free port)" };
        var advertise = new Option<string?>("--advertise") { Description = "Address peers reach this worker at; default $POD_IP or 127.0.0.1" };
        var reportMs = new Option<int>("--report-every-ms") { Description = "Metrics batch interval", DefaultValueFactory = _ => 1000 };
        var moduleLoading = new Option<string>("--cuda-module-loading")
        {
            Description = "auto|eager|lazy: how CUDA loads kernels; auto is eager with --slots > 1 (a lazy load waits for every run on the device)",
            DefaultValueFactory = _ => "auto",
        };
        var joinFor = new Option<int>("--join-timeout-s") { Description = "How long to keep trying to join the coordinator (at start and after losing it), 1..86400", DefaultValueFactory = _ => 120 };
        var lease = new Option<int>("--coordinator-lease-s") { Description = "How long the coordinator may be unreachable before runs pause with a checkpoint and the worker rejoins, 2..3600", DefaultValueFactory = _ => 30 };
        var cmd = new Command("worker", "Run a worker process for one device") { coordinator, device, name, port, advertise, reportMs, joinFor, lease, Slots, DeviceKey, Mps, moduleLoading, Redis, ClusterId, ProbeMs, MissedProbes, LogFormat, ClusterTokens.TokenFile };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            var dev = pr.GetValue(device)!;
            if (dev != "cpu" && !(dev.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(dev[5..], out var n) && n >= 0))
                throw new ArgumentException($"--device: '{dev}' is not cpu or cuda:N");
            int slots = SlotsOf(pr);
            var redis = RedisOf(pr);
            var primary = ClusterEndpoint.Parse(pr.GetValue(coordinator)!, ClusterNames.DefaultSiloPort, "--coordinator-silo");
            // No name given: the `orch local` cluster whose silo is at that address, if it is one (else `orch`).
            var clusterId = pr.GetValue(ClusterId) is null && Environment.GetEnvironmentVariable("ORCH_CLUSTER") is null or "" && redis is null
                && System.Net.IPAddress.IsLoopback(primary.Address)
                && LocalClusters.AllLive().FirstOrDefault(e => e.SiloPort == primary.Port) is { } local ? local.ClusterId : ClusterIdOf(pr);
            var tokenOf = ClusterTokens.ForWorker(pr.GetValue(ClusterTokens.TokenFile), clusterId);
            if (pr.GetValue(Mps) && dev == "cpu") throw new ArgumentException("--mps: needs --device cuda:N (MPS shares a GPU between processes)");
            if (pr.GetValue(joinFor) is < 1 or > 86_400) throw new ArgumentException($"--join-timeout-s: {pr.GetValue(joinFor)} is not 1..86400");
            if (pr.GetValue(lease) is < 2 or > 3600) throw new ArgumentException($"--coordinator-lease-s: {pr.GetValue(lease)} is not 2..3600");
            // Load libtorch before joining: dlopen of ~600 MB of libraries holds the loader lock for seconds, and a
            // silo whose threads stall that long mid-run is declared dead by its peers.
            // MPS first: libcuda reads its pipe folder when CUDA starts.
            var loading = CudaModuleLoading.Choose(pr.GetValue(moduleLoading)!, dev != "cpu", slots, Environment.GetEnvironmentVariable(CudaModuleLoading.Variable));
            if (loading is not null) NativeEnvironment.Set(CudaModuleLoading.Variable, loading);
            using var mps = pr.GetValue(Mps) ? MpsDaemon.Start() : null;
            if (mps is not null) Console.Out.WriteLine($"MPS control daemon {(mps.Started ? "started" : "already running")}: pipe {mps.PipeDirectory}, log {mps.LogDirectory}");
            try { TorchRuntime.Initialize(); }
            catch (TorchRuntimeException e) { Console.Error.WriteLine($"warning: libtorch did not load ({e.Message}); only light runs will work here"); }
            var adv = AdvertiseOf(pr.GetValue(advertise));
            var id = pr.GetValue(name) ?? $"{Environment.MachineName}-{dev.Replace(':', '-')}-{Environment.ProcessId}";
            var info = new WorkerInfo
            {
                Id = id, Host = adv.ToString(), Device = dev, DeviceKind = dev == "cpu" ? "cpu" : "cuda",
                MemoryBytes = dev == "cpu" ? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes : GpuMemory(dev),
                ProtocolVersion = int.TryParse(Environment.GetEnvironmentVariable("ORCH_PROTOCOL_VERSION"), out var v) ? v : ProtocolVersion.Current,
                ProcessId = Environment.ProcessId, Process = id, Slots = slots,
                DeviceKey = pr.GetValue(DeviceKey) ?? (dev == "cpu" ? "" : $"{Environment.MachineName}/cuda:{PhysicalGpu(dev)}"),
            };
            var settings = new SiloSettings
            {
                Name = id, IsCoordinator = false, Redis = redis, Primary = primary, Advertise = adv, ClusterId = clusterId,
                SiloPort = pr.GetValue(port) is > 0 and var p ? p : LocalPorts.FreePort(), GatewayPort = LocalPorts.FreePort(),
            };
            settings = WithProbes(settings, pr);
            var supervision = new WorkerSupervision(TimeSpan.FromSeconds(pr.GetValue(joinFor)), TimeSpan.FromSeconds(pr.GetValue(lease)),
                redis is null ? (_, c) => LocalPorts.CanConnectAsync(primary, c) : (h, _) => Task.FromResult(h is null || CoordinatorActive(h)),
                redis is null ? $"the coordinator at {primary}" : $"the coordinator registered in Redis at {redis}") { Token = tokenOf };
            return await WorkerHost.RunAsync(settings, info, TimeSpan.FromMilliseconds(pr.GetValue(reportMs)), slots, pr.GetValue(LogFormat)!, supervision,
                () => Console.Out.WriteLine($"worker {id} up: {dev}{(slots > 1 ? $" ({slots} slots)" : "")}{(loading is null ? "" : $", {CudaModuleLoading.Variable}={loading}")}, silo port {settings.SiloPort}, pid {Environment.ProcessId}"), ct);
        });
        return cmd;
    }

    internal static readonly Option<int> Slots = new("--slots")
    { Description = "Runs each worker trains at once (threads of one process sharing its device), 1..64", DefaultValueFactory = _ => 1 };
    static readonly Option<string?> DeviceKey = new("--device-key")
    { Description = "Names the physical device, so workers that share one (MPS) share its memory budget; default HOST/cuda:N on GPUs, the worker itself on CPU" };
    static readonly Option<bool> Mps = new("--mps")
    { Description = "Start (or join) the NVIDIA MPS control daemon, for several worker processes on one GPU; stopped on exit if this worker started it" };

    internal static int SlotsOf(ParseResult pr) =>
        pr.GetValue(Slots) is >= 1 and <= 64 and var k ? k : throw new ArgumentException($"--slots: {pr.GetValue(Slots)} is not 1..64 (runs trained at once by one worker)");

    /// <summary>The dashboard in the coordinator process, reading the grains through the silo's own grain factory.</summary>
    static async Task<DashboardServer> StartDashboardAsync(DashboardOptions web, bool anyPortIfTaken, IHost host, CancellationToken ct)
    {
        try { return await DashboardServer.StartAsync(web, host.Services.GetRequiredService<IGrainFactory>(), anyPortIfTaken, ct); }
        catch (IOException e)
        {
            throw new InvalidOperationException($"cannot start the dashboard on {web.Url}: {e.GetBaseException().Message} (give --web-port N, or 0 to turn it off)", e);
        }
    }

    internal static string? RedisOf(ParseResult pr) => pr.GetValue(Redis) ?? Environment.GetEnvironmentVariable("ORCH_REDIS");

    static IPAddress AdvertiseOf(string? flag)
    {
        var s = flag ?? Environment.GetEnvironmentVariable("POD_IP");
        if (s is null) return IPAddress.Loopback;
        return IPAddress.TryParse(s, out var ip) ? ip : throw new ArgumentException($"--advertise: '{s}' is not an IP address");
    }

    /// <summary>Cluster mode: whether this silo's membership has an active coordinator.</summary>
    static bool CoordinatorActive(IHost host) =>
        host.Services.GetRequiredService<IClusterMembershipService>().CurrentSnapshot.Members.Values
            .Any(m => m.Status == SiloStatus.Active && m.Name.StartsWith(ClusterNames.CoordinatorPrefix, StringComparison.Ordinal));

    static async Task StartOrExplainAsync(IHost host, string what, CancellationToken ct)
    {
        try { await host.StartAsync(ct); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidOperationException($"cannot start {what}: {e.GetBaseException().Message}", e);
        }
    }

    /// <summary>Runs until Ctrl-C / SIGTERM (either the command's token or the host's lifetime), then stops the silo gracefully.</summary>
    static async Task WaitForShutdownAsync(IHost host, CancellationToken ct)
    {
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        try { await Task.Delay(Timeout.Infinite, CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping).Token); }
        catch (OperationCanceledException) { }
        await host.StopAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>The GPU a process's cuda:N is on the machine (index or UUID): the N-th entry of CUDA_VISIBLE_DEVICES, when set.</summary>
    static string PhysicalGpu(string device)
    {
        int n = int.Parse(device[5..]);
        var visible = Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return visible is { Length: > 0 } && n < visible.Length ? visible[n] : $"{n}";
    }

    static long GpuMemory(string device)
    {
        try
        {
            var psi = new ProcessStartInfo("nvidia-smi", $"--query-gpu=memory.total --format=csv,noheader,nounits -i {PhysicalGpu(device)}")
            { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var text = p.StandardOutput.ReadToEnd();
            p.WaitForExit(5000);
            return long.TryParse(text.Trim(), out var mib) ? mib * 1024 * 1024 : 0;
        }
        catch (Exception) { return 0; }
    }
}
