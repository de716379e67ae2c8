using System.Text;
using System.Text.Json;
using Orchestrator.Sharding.Launch;

namespace Orchestrator.Tests.EndToEnd;

/// <summary>
/// A standalone worker and its coordinator as separate processes: the worker starts first and waits (a bounded,
/// printed retry); when the coordinator is SIGKILLed mid-run the worker pauses the run with a checkpoint after the
/// lease, leaves, and joins the restarted coordinator on the same port (no process exit through a membership
/// failure); a watching console and a log follow say plainly that the coordinator is gone.
/// </summary>
public sealed class CoordinatorLossTests
{
    [Fact]
    public async Task A_worker_waits_for_its_coordinator_pauses_when_it_dies_and_rejoins_its_restart()
    {
        var dir = Directory.CreateTempSubdirectory("orch-lease-");
        var text = new StringBuilder();
        var rng = new Random(3);
        string[] words = ["a", "worker", "outlives", "its", "coordinator", "and", "keeps", "the", "steps", "it", "trained"];
        for (int i = 0; i < 5_000; i++) text.Append(words[rng.Next(words.Length)]).Append(i % 10 == 9 ? ".\n" : " ");
        Directory.CreateDirectory(Path.Combine(dir.FullName, "text"));
        File.WriteAllText(Path.Combine(dir.FullName, "text", "a.txt"), text.ToString());
        var prep = await OrchProcess.RunAsync("data", "prepare", "--input", Path.Combine(dir.FullName, "text"), "--out", Path.Combine(dir.FullName, "corpus"),
            "--tokenizer", "bytes", "--block-size", "32");
        Assert.True(prep.Exit == 0, prep.Stderr);
        var spec = Path.Combine(dir.FullName, "run.yaml");
        File.WriteAllText(spec, $$"""
            name: orphan
            data: {{dir.FullName}}/corpus
            model: { n_layer: 1, n_head: 2, n_embd: 32, block_size: 32 }
            batch: 4
            steps: 100000
            checkpoint: { every: 20, keep: 2, path: {{dir.FullName}}/ckpt }
            """);

        int silo = LocalPorts.FreePort(), gateway = LocalPorts.FreePort();
        string gw = $"127.0.0.1:{gateway}";
        string[] coordinatorArgs = ["coordinator", "--port", $"{silo}", "--gateway-port", $"{gateway}", "--metrics-port", "0", "--web-port", "0"];
        await using var worker = OrchProcess.Start(["worker", "--coordinator-silo", $"127.0.0.1:{silo}", "--name", "wa",
            "--join-timeout-s", "120", "--coordinator-lease-s", "3"]);
        await worker.WaitForLineAsync($@"^the coordinator at 127\.0\.0\.1:{silo} is not up yet; retrying for \d+ s more$");

        await using var first = OrchProcess.Start(coordinatorArgs);
        await worker.WaitForLineAsync("^worker wa up: cpu");
        var submit = await OrchProcess.RunAsync("run", "submit", spec, "--json", "--coordinator", gw);
        Assert.True(submit.Exit == 0, submit.Stderr);
        var id = JsonDocument.Parse(submit.Stdout).RootElement.GetProperty("id").GetString()!;
        await first.WaitForLineAsync($"run {id} generation 1: running with 1 ranks", TimeSpan.FromSeconds(120));
        await using var watch = OrchProcess.Start(["run", "status", id, "--watch", "--coordinator", gw]);
        await watch.WaitForLineAsync($@"{id} Running step [1-9]\d*/100000 ", TimeSpan.FromSeconds(120));
        await using var follow = OrchProcess.Start(["run", "logs", id, "-f", "--coordinator", gw]);
        await follow.WaitForLineAsync(@"^\S+Z rank 0 wa INFO ", TimeSpan.FromSeconds(120));

        first.KillHard();
        var paused = await worker.WaitForLineAsync(@"paused at step (\d+), which a checkpoint keeps: the coordinator is gone", TimeSpan.FromSeconds(60));
        await worker.WaitForLineAsync($@"^worker wa: left the cluster; rejoining once the coordinator at 127\.0\.0\.1:{silo} answers");
        // The paused run's last step is in a complete checkpoint once the worker has left.
        int step = int.Parse(paused.Groups[1].Value);
        Assert.True(step >= 1);
        Assert.True(File.Exists(Path.Combine(dir.FullName, "ckpt", id, $"ckpt-{step:D6}", "manifest.json")), worker.Output);
        Assert.Equal(1, await watch.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains($"error: the coordinator stopped answering while watching run {id}", watch.Output);
        Assert.DoesNotContain("Unable to connect", watch.Output);
        Assert.Equal(1, await follow.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains($"error: the coordinator stopped answering while following run {id}'s log", follow.Output);
        Assert.DoesNotContain("Unable to connect", follow.Output);

        // A new coordinator on the same port gets the worker back.
        await using var second = OrchProcess.Start(coordinatorArgs);
        await second.WaitForLineAsync("worker wa registered", TimeSpan.FromSeconds(120));
        // Killed and restarted at once (often within the lease: the development membership table then starts over
        // at a lower version, which used to end the worker's process), the worker still comes back.
        second.KillHard();
        await using var third = OrchProcess.Start(coordinatorArgs);
        await third.WaitForLineAsync("worker wa registered", TimeSpan.FromSeconds(120));
        Assert.False(worker.HasExited, worker.Output);
        Assert.DoesNotContain("FATAL EXCEPTION", worker.Output);
        dir.Delete(true);
    }
}
