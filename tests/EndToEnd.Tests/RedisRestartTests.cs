using System.Diagnostics;
using System.Text.Json;
using Orchestrator.Worker.Hosting;
using Orchestrator.Sharding.Launch;

namespace Orchestrator.Tests.EndToEnd;

/// <summary>
/// Cluster mode against a real redis-server on loopback: the coordinator is SIGKILLed mid-run and restarted; the
/// new one finds the run in Redis, the workers (which kept training and buffering reports) reach it, and the run ends.
/// </summary>
public sealed class RedisRestartTests
{
    [Fact]
    public async Task Run_resumes_after_the_coordinator_is_killed_and_restarted()
    {
        int redisPort = LocalPorts.FreePort(), silo = LocalPorts.FreePort(), gateway = LocalPorts.FreePort();
        using var redis = Process.Start(new ProcessStartInfo("redis-server", ["--port", $"{redisPort}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        { RedirectStandardOutput = true, UseShellExecute = false })
            ?? throw new InvalidOperationException("redis-server is not installed (scripts/setup.sh installs it)");
        try
        {
            var conn = $"127.0.0.1:{redisPort}";
            var dir = Directory.CreateTempSubdirectory("orch-redis-");
            var spec = Path.Combine(dir.FullName, "run.yaml");
            File.WriteAllText(spec, $$"""
                name: durable
                trainer: light
                step_ms: 40
                steps: 500
                seed: 3
                workers: { min: 2, max: 2 }
                checkpoint: { every: 25, keep: 2, path: {{dir.FullName}}/ckpt }
                """);
            string[] coordinatorArgs = ["coordinator", "--redis", conn, "--port", $"{silo}", "--gateway-port", $"{gateway}", "--metrics-port", "0"];
            var first = OrchProcess.Start(coordinatorArgs);
            await first.WaitForLineAsync("coordinator up");
            await using var w1 = OrchProcess.Start(["worker", "--redis", conn, "--name", "r1"]);
            await using var w2 = OrchProcess.Start(["worker", "--redis", conn, "--name", "r2"]);
            await w1.WaitForLineAsync("worker r1 up");
            await w2.WaitForLineAsync("worker r2 up");

            var submit = await OrchProcess.RunAsync("run", "submit", spec, "--json", "--redis", conn);
            Assert.True(submit.Exit == 0, submit.Stderr);
            var id = JsonDocument.Parse(submit.Stdout).RootElement.GetProperty("id").GetString()!;
            await first.WaitForLineAsync($@"run {id} generation 1: checkpoint step \d+ committed");

            first.KillHard();
            await first.WaitForExitAsync(TimeSpan.FromSeconds(10));
            await first.DisposeAsync();
            await using var second = OrchProcess.Start(coordinatorArgs);
            await second.WaitForLineAsync("coordinator up", TimeSpan.FromSeconds(120));
            await second.WaitForLineAsync($@"run {id}: Completed", TimeSpan.FromSeconds(180));

            var status = await OrchProcess.RunAsync("run", "status", id, "--json", "--redis", conn);
            Assert.True(status.Exit == 0, status.Stderr);
            var s = JsonDocument.Parse(status.Stdout).RootElement;
            Assert.Equal("Completed", s.GetProperty("state").GetString());
            Assert.Equal(500, s.GetProperty("step").GetInt32());
            Assert.Equal(1, s.GetProperty("generation").GetInt32());
            Assert.Equal(LightTrainingJob.LossAt(500, 3), s.GetProperty("loss").GetDouble(), 9);
            var runs = await OrchProcess.RunAsync("run", "list", "--json", "--redis", conn);
            Assert.Contains(id, runs.Stdout);
            dir.Delete(true);
        }
        finally
        {
            redis.Kill();
            await redis.WaitForExitAsync();
        }
    }
}
