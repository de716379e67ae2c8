using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Orchestrator.Sharding.Launch;

namespace Orchestrator.Tests.Experiments.EndToEnd;

/// <summary>
/// Redis mode: the sweep's state lives in Redis, so a coordinator killed (SIGKILL) mid-sweep and started again
/// finds the sweep where it was, and the sweep completes. Needs redis-server on PATH (it is in the dev image).
/// </summary>
public sealed class CoordinatorRestartTests : IAsyncLifetime
{
    readonly string _dir = Directory.CreateTempSubdirectory("orch-sweep-redis-").FullName;
    Process? _redis;
    int _redisPort;

    public async Task InitializeAsync()
    {
        _redisPort = LocalPorts.FreePort();
        var psi = new ProcessStartInfo("redis-server", ["--port", $"{_redisPort}", "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
        { RedirectStandardOutput = true, UseShellExecute = false };
        _redis = Process.Start(psi)!;
        _redis.BeginOutputReadLine();
        for (int i = 0; i < 100 && !await LocalPorts.CanConnectAsync(new IPEndPoint(IPAddress.Loopback, _redisPort)); i++) await Task.Delay(50); // guard, until the port answers
    }

    public async Task DisposeAsync()
    {
        if (_redis is { HasExited: false }) { _redis.Kill(); await _redis.WaitForExitAsync(); }
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_sweep_survives_a_coordinator_restart()
    {
        string redis = $"127.0.0.1:{_redisPort}";
        int silo = LocalPorts.FreePort(), gw = LocalPorts.FreePort();
        string[] coordArgs = ["coordinator", "--redis", redis, "--port", $"{silo}", "--gateway-port", $"{gw}", "--metrics-port", "0"];
        var coordinator = OrchProcess.Start(coordArgs);
        await coordinator.WaitForLineAsync("coordinator up", TimeSpan.FromSeconds(120));
        await using var worker = OrchProcess.Start(["worker", "--redis", redis, "--name", "w1", "--coordinator", $"127.0.0.1:{silo}"]);
        await worker.WaitForLineAsync("up:", TimeSpan.FromSeconds(120));

        string spec = Path.Combine(_dir, "sweep.yaml");
        File.WriteAllText(spec, $"""
            name: restart
            data: {_dir}
            storage: {Path.Combine(_dir, "sweeps")}
            models: [{"{"} n_layer: 1, n_head: 1, n_embd: 32 {"}"}, {"{"} n_layer: 2, n_head: 1, n_embd: 32 {"}"}]
            tokens: [10240, 20480]
            batch: 16
            block_size: 32
            concurrency: 1
            retries: 2
            trainer: light
            checkpoint:
              every: 10
            """);
        string[] at = ["--coordinator", $"127.0.0.1:{gw}", "--redis", redis];
        var launch = await OrchProcess.RunAsync(TimeSpan.FromMinutes(2), ["sweep", "launch", spec, "--json", .. at]);
        Assert.True(launch.Exit == 0, launch.Stderr);
        string id = JsonDocument.Parse(launch.Stdout).RootElement.GetProperty("id").GetString()!;

        // Wait until the first run is done (the sweep's folder mirrors its state), then kill the coordinator hard.
        string results = Path.Combine(_dir, "sweeps", id, "results.csv");
        var guard = Stopwatch.StartNew();
        while (!(File.Exists(results) && File.ReadAllLines(results).Length >= 2))
        {
            Assert.True(guard.Elapsed < TimeSpan.FromMinutes(3), "the first run never completed");
            await Task.Delay(200);
        }
        await coordinator.DisposeAsync();

        await using var restarted = OrchProcess.Start(coordArgs);
        await restarted.WaitForLineAsync("coordinator up", TimeSpan.FromSeconds(120));
        var watch = await OrchProcess.RunAsync(TimeSpan.FromMinutes(4), ["sweep", "status", id, "--watch", "--json", .. at]);
        Assert.True(watch.Exit == 0, $"{watch.Stdout}\n{watch.Stderr}\ncoordinator:\n{restarted.Output}");
        var final = JsonDocument.Parse(watch.Stdout).RootElement;
        Assert.Equal("Completed", final.GetProperty("state").GetString());
        Assert.Equal(4, final.GetProperty("done").GetInt32());
    }
}
