using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Orchestrator.Sharding.Launch;
using Xunit.Abstractions;

namespace Orchestrator.Tests.EndToEnd.FaultSuite;

/// <summary>
/// Cluster (Redis) mode against a real redis-server: the coordinator is SIGKILLed mid-sweep, after a seeded number
/// of the sweep's runs completed. Its workers notice (failure detection, then their 3 s lease), pause their runs
/// with a checkpoint and leave; a coordinator restarted on the same ports gets both back (they register again), and
/// the sweep completes from the state Redis kept: every run done exactly once, none completed before the kill
/// trained again. Two bounds guard how fast: each worker leaves within <see cref="LeaveBound"/> of the kill (a run
/// that finished while the coordinator was dead once held its slot until the worker's 120 s pause timeout), and the
/// sweep's first new run starts within <see cref="ResumeBound"/> of both workers being back.
/// Risk: timing. Every step waits for a line (Redis ready, runs completed, workers left, workers registered).
/// </summary>
public sealed class RedisSweepRestartTests(ITestOutputHelper output)
{
    const int Runs = 6;
    /// <summary>How long after the kill each worker may take to leave the dead cluster (its pause timeout is 120 s).</summary>
    static readonly TimeSpan LeaveBound = TimeSpan.FromSeconds(60);
    /// <summary>How long after both workers are back the sweep's first step may come.</summary>
    static readonly TimeSpan ResumeBound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_sweep_completes_after_its_redis_coordinator_is_killed_and_the_workers_rejoin_its_restart()
    {
        var plan = FaultPlan.FromEnvironment();
        int killAfter = 1 + plan.For("redis-coordinator-sigkill").Next(2); // runs completed before the kill: 1 or 2 of 6
        output.WriteLine($"fault seed {plan.Seed}: SIGKILL of the coordinator after {killAfter} of {Runs} runs completed");
        var dir = Directory.CreateTempSubdirectory("orch-faults-redis-").FullName;
        int redisPort = LocalPorts.FreePort(), silo = LocalPorts.FreePort(), gw = LocalPorts.FreePort();
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var redis = Process.Start(new ProcessStartInfo("redis-server", ["--port", $"{redisPort}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        { RedirectStandardOutput = true, UseShellExecute = false })
            ?? throw new InvalidOperationException("redis-server is not installed (scripts/setup.sh installs it)");
        redis.OutputDataReceived += (_, e) => { if (e.Data?.Contains("Ready to accept connections") == true) ready.TrySetResult(); };
        redis.BeginOutputReadLine();
        var workers = new List<OrchProcess>();
        OrchProcess? first = null, second = null;
        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
            string conn = $"127.0.0.1:{redisPort}";
            string[] coordinatorArgs = ["coordinator", "--redis", conn, "--port", $"{silo}", "--gateway-port", $"{gw}", "--metrics-port", "0", "--web-port", "0"];
            first = OrchProcess.Start(coordinatorArgs);
            await first.WaitForLineAsync("coordinator up", TimeSpan.FromSeconds(120));
            foreach (var name in new[] { "rw1", "rw2" })
                workers.Add(OrchProcess.Start(["worker", "--redis", conn, "--name", name, "--coordinator-lease-s", "3", "--join-timeout-s", "300"]));
            for (int i = 0; i < workers.Count; i++) await workers[i].WaitForLineAsync($"worker rw{i + 1} up", TimeSpan.FromSeconds(120));

            string spec = Path.Combine(dir, "sweep.yaml");
            File.WriteAllText(spec, $$"""
                name: restart
                data: {{dir}}
                storage: {{dir}}/sweeps
                models: [{ n_layer: 1, n_head: 1, n_embd: 32 }, { n_layer: 2, n_head: 1, n_embd: 32 }]
                tokens: [10240, 20480, 40960]
                batch: 16
                block_size: 32
                concurrency: 2
                trainer: light
                checkpoint: { every: 10 }
                """);
            string[] at = ["--coordinator", $"127.0.0.1:{gw}", "--redis", conn];
            var launch = await OrchProcess.RunAsync(["sweep", "launch", spec, "--json", .. at]);
            Assert.True(launch.Exit == 0, launch.Stderr);
            string id = JsonDocument.Parse(launch.Stdout).RootElement.GetProperty("id").GetString()!;

            int seen = 0;
            await first.WaitForLineAsync(@"run \S+: Completed", _ => ++seen == killAfter, TimeSpan.FromSeconds(300));
            var killedAt = DateTimeOffset.UtcNow;
            first.KillHard();
            await first.WaitForExitAsync(TimeSpan.FromSeconds(30));
            var completedBefore = Regex.Matches(first.Output, @"run (\S+): Completed").Select(m => m.Groups[1].Value).ToHashSet();
            Assert.True(completedBefore.Count < Runs, "the sweep ended before the kill");

            // Both workers give the dead coordinator up (they pause and leave) before it is restarted. A pause frees
            // every slot within a step and one call, whatever the run was doing (a run that finished its last step
            // while the coordinator was dead too): the lease (3 s), a step, one call (10 s at most) and the silo's
            // bounded stop come well within LeaveBound, and a slot that waited for the dead coordinator would be
            // stopped only by the worker's 120 s pause timeout.
            void Phase(string what) => output.WriteLine($"{(DateTimeOffset.UtcNow - killedAt).TotalSeconds,6:F1} s after the kill: {what}");
            for (int i = 0; i < workers.Count; i++)
            {
                await workers[i].WaitForLineAsync($"^worker rw{i + 1}: left the cluster; rejoining once the coordinator registered in Redis", TimeSpan.FromSeconds(180));
                Phase($"worker rw{i + 1} left the cluster");
                Assert.True(DateTimeOffset.UtcNow - killedAt < LeaveBound, $"worker rw{i + 1} left {(DateTimeOffset.UtcNow - killedAt).TotalSeconds:F1} s after the kill (bound {LeaveBound.TotalSeconds} s)");
                Assert.DoesNotContain("did not pause", workers[i].Output);
            }
            second = OrchProcess.Start(coordinatorArgs);
            await second.WaitForLineAsync("coordinator up", TimeSpan.FromSeconds(120));
            var upAt = DateTimeOffset.UtcNow;
            Phase("the restarted coordinator is up");
            foreach (var name in new[] { "rw1", "rw2" })
            {
                await second.WaitForLineAsync($"worker {name} registered", TimeSpan.FromSeconds(180));
                Phase($"worker {name} registered again");
            }
            var backAt = DateTimeOffset.UtcNow;
            await second.WaitForLineAsync($@"sweep {id} finished: {Runs}/{Runs} runs completed", TimeSpan.FromSeconds(300));
            Phase("the sweep finished");
            output.WriteLine("restarted coordinator's run lines:\n" + string.Join('\n', second.Output.Split('\n').Where(l => l.Contains(" run ") || l.Contains("sweep "))));

            var sweep = JsonDocument.Parse((await OrchProcess.RunAsync(["sweep", "status", id, "--json", .. at])).Stdout).RootElement;
            Assert.Equal(("Completed", Runs), (sweep.GetProperty("state").GetString(), sweep.GetProperty("done").GetInt32()));
            var runIds = sweep.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("run_id").GetString()!).ToList();
            Assert.Equal(Runs, runIds.Distinct().Count());
            Assert.Subset(runIds.ToHashSet(), completedBefore);
            double? recovery = null;
            DateTimeOffset? firstNewRunStep = null;
            var submittedBefore = Regex.Matches(first.Output, @"run (\S+): submitted").Select(m => m.Groups[1].Value).ToHashSet();
            long lost = 0;
            foreach (var rid in runIds)
            {
                var run = JsonDocument.Parse((await OrchProcess.RunAsync(["run", "status", rid, "--json", .. at])).Stdout).RootElement;
                Assert.Equal("Completed", run.GetProperty("state").GetString());
                Assert.Single(run.GetProperty("transitions").EnumerateArray(), t => t.GetProperty("state").GetString() == "Completed");
                if (completedBefore.Contains(rid))
                {
                    Assert.DoesNotContain($"run {rid} generation", second.Output); // never rendezvoused again: not retrained
                    continue;
                }
                // In flight or not started at the kill: the first step after the restart, and what was trained again.
                var history = run.GetProperty("history").EnumerateArray()
                    .Select(h => (Step: h.GetProperty("step").GetInt32(), At: h.GetProperty("at").GetDateTimeOffset(),
                        Window: h.TryGetProperty("window_steps", out var w) && w.ValueKind == JsonValueKind.Number ? w.GetInt32() : 1)).ToList();
                var after = history.Where(h => h.At > upAt).ToList();
                var before = history.Where(h => h.At <= killedAt).ToList();
                if (after.Count == 0) continue;
                var firstAfter = after.MinBy(h => h.At);
                if (!submittedBefore.Contains(rid) && (firstNewRunStep is not { } f || firstAfter.At < f)) firstNewRunStep = firstAfter.At;
                double r = (firstAfter.At - killedAt).TotalSeconds;
                recovery = recovery is { } x ? Math.Min(x, r) : r;
                if (before.Count == 0) continue;
                long perStep = run.GetProperty("tokens_trained").GetInt64() / run.GetProperty("step").GetInt32(); // one worker a run: one batch a step
                lost += Math.Max(0, before.Max(h => h.Step) - (firstAfter.Step - firstAfter.Window)) * perStep;
            }
            // The sweep goes on as soon as the workers are back: a worker that registers again restarts the run it
            // had, and the coordinator wakes its sweeps as it starts (then every 5 s), so the first run the sweep
            // submits after the restart starts once a slot is free (the runs in flight are at most 80 light steps).
            // ResumeBound is six waker periods; the sweep's reminder alone would tick only once a minute.
            Assert.True(recovery is not null, "no run trained after the restart");
            output.WriteLine($"first step after the restart: {(killedAt + TimeSpan.FromSeconds(recovery!.Value) - backAt).TotalSeconds:F1} s after both workers were back");
            Assert.True(firstNewRunStep is not null, "the restarted coordinator's sweep submitted no run");
            output.WriteLine($"first step of a run the sweep submitted after the restart: {(firstNewRunStep!.Value - backAt).TotalSeconds:F1} s after both workers were back");
            Assert.True(firstNewRunStep.Value - backAt < ResumeBound,
                $"the sweep's first run after the restart started {(firstNewRunStep.Value - backAt).TotalSeconds:F1} s after both workers were back (bound {ResumeBound.TotalSeconds} s)");
            FaultReport.Add(output, plan.Seed, $"sigkill redis coordinator mid-sweep ({completedBefore.Count}/{Runs} runs done)", id, "-", recovery, lost);
        }
        catch
        {
            if (first is not null) output.WriteLine("first coordinator:\n" + first.Output);
            if (second is not null) output.WriteLine("restarted coordinator:\n" + second.Output);
            foreach (var w in workers) output.WriteLine("worker:\n" + w.Output);
            throw;
        }
        finally
        {
            foreach (var w in workers) await w.DisposeAsync();
            if (second is not null) await second.DisposeAsync();
            if (first is not null) await first.DisposeAsync();
            if (!redis.HasExited) { redis.Kill(); await redis.WaitForExitAsync(); }
        }
        Directory.Delete(dir, true);
    }
}
