using System.Diagnostics;
using System.Text.Json;
using Orchestrator.Worker.Hosting;
using Xunit.Abstractions;
using Orchestrator.Sharding.Launch;

namespace Orchestrator.Tests.EndToEnd;

/// <summary>
/// `orch local --workers 3` as real processes, a run submitted, one worker SIGKILLed mid-run, a fourth started:
/// the run goes on with 2, takes the 4th (started mid-run, a spare while the run was full) in at the next checkpoint, and ends with the loss of an uninterrupted run.
/// Uses the light trainer (real per-step work and real shard files, no TorchSharp).
/// </summary>
public sealed class LocalClusterElasticTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Run_survives_a_killed_worker_and_takes_in_a_new_one_at_the_next_checkpoint()
    {
        int silo = LocalPorts.FreePort(), gateway = LocalPorts.FreePort();
        var dir = Directory.CreateTempSubdirectory("orch-e2e-");
        var spec = Path.Combine(dir.FullName, "run.yaml");
        File.WriteAllText(spec, $$"""
            name: elastic
            trainer: light
            step_ms: 40
            steps: 600
            seed: 7
            workers: { min: 2, max: 3 }
            checkpoint: { every: 25, keep: 3, path: {{dir.FullName}}/ckpt }
            """);
        string gw = $"127.0.0.1:{gateway}";
        await using var local = OrchProcess.Start(["local", "--workers", "3", "--port", $"{silo}", "--gateway-port", $"{gateway}", "--metrics-port", "0", "--ephemeral"]);
        for (int i = 1; i <= 3; i++) await local.WaitForLineAsync($@"\[worker-{i}\] worker worker-{i} up");

        var submit = await OrchProcess.RunAsync("run", "submit", spec, "--json", "--coordinator", gw);
        Assert.True(submit.Exit == 0, submit.Stderr);
        var id = JsonDocument.Parse(submit.Stdout).RootElement.GetProperty("id").GetString()!;
        await local.WaitForLineAsync($@"run {id} generation 1: running with 3 ranks");
        // A fourth worker started mid-run: the run is full (max 3), so it waits as a spare.
        await using var fourth = OrchProcess.Start(["worker", "--cluster", "local", "--coordinator-silo", $"127.0.0.1:{silo}", "--name", "worker-4"]); // orch local names its cluster "local"
        await fourth.WaitForLineAsync("worker worker-4 up");
        await local.WaitForLineAsync($@"run {id} generation 1: checkpoint step \d+ committed");

        var workers = await OrchProcess.RunAsync("workers", "list", "--json", "--coordinator", gw);
        var victim = JsonDocument.Parse(workers.Stdout).RootElement.EnumerateArray().Single(w => w.GetProperty("id").GetString() == "worker-2");
        int victimPid = victim.GetProperty("process_id").GetInt32();
        var sw = Stopwatch.StartNew();
        Process.GetProcessById(victimPid).Kill(); // SIGKILL
        await local.WaitForLineAsync(@"worker worker-2 lost: declared dead by failure detection");
        var detected = sw.Elapsed;
        await local.WaitForLineAsync($@"run {id} generation 2: running with 2 ranks");
        var rendezvous = sw.Elapsed;
        var resumed = await local.WaitForLineAsync($@"run {id} generation 2: checkpoint step (\d+) committed");
        output.WriteLine($"SIGKILL -> declared dead {detected.TotalSeconds:F1} s, -> generation 2 running {rendezvous.TotalSeconds:F1} s, -> checkpoint step {resumed.Groups[1].Value} committed {sw.Elapsed.TotalSeconds:F1} s");

        // Losing worker-2 made room: the spare is taken in at the next checkpoint boundary.
        await local.WaitForLineAsync($@"run {id} generation 3: rendezvous of 3 ranks from step \d+ \(taking in worker-4 at checkpoint step");
        await local.WaitForLineAsync($@"run {id}: Completed", TimeSpan.FromSeconds(180));

        var status = await OrchProcess.RunAsync("run", "status", id, "--json", "--coordinator", gw);
        Assert.True(status.Exit == 0, status.Stderr);
        var s = JsonDocument.Parse(status.Stdout).RootElement;
        Assert.Equal("Completed", s.GetProperty("state").GetString());
        Assert.Equal(600, s.GetProperty("step").GetInt32());
        Assert.Equal(3, s.GetProperty("world_size").GetInt32());
        Assert.Equal(3, s.GetProperty("generation").GetInt32());
        Assert.Equal("worker-1,worker-3,worker-4", string.Join(",", s.GetProperty("workers").EnumerateArray().Select(w => w.GetString())));
        // The light job's loss is a function of the global step: the interrupted run ends exactly where an uninterrupted one would.
        Assert.Equal(LightTrainingJob.LossAt(600, 7), s.GetProperty("loss").GetDouble(), 9);
        var states = s.GetProperty("transitions").EnumerateArray().Select(t => t.GetProperty("state").GetString()).ToList();
        Assert.Equal(["Pending", "Rendezvous", "Running", "Recovering", "Rendezvous", "Running", "Rendezvous", "Running", "Completed"], states);
        var last = s.GetProperty("checkpoints").EnumerateArray().Last();
        Assert.Equal(600, last.GetProperty("step").GetInt32());
        Assert.Equal(3, Directory.GetFiles(last.GetProperty("path").GetString()!, "rank-*.json").Length);
        dir.Delete(recursive: true);
    }
}
