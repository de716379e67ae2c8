using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Orchestrator.Sharding.Launch;

namespace Orchestrator.Tests.EndToEnd;

/// <summary>
/// A branching WSD sweep with the real GPT trainer on `orch local --workers 2`: two sizes, three token budgets, so two
/// trunks and six cooldown branches. The worker training the larger trunk is SIGKILLed after the trunk's first checkpoints; the
/// trunk resumes on the other worker from its last checkpoint, every branch starts from its fork checkpoint and
/// completes, and the report shows trunks, branches, branch points and the cost against training from scratch.
/// </summary>
public sealed class BranchingSweepTests
{
    [Fact]
    public async Task A_branching_sweep_survives_a_killed_trunk_and_reports_every_branch()
    {
        var dir = Directory.CreateTempSubdirectory("orch-wsd-");
        string[] words = ["a", "trunk", "trains", "at", "the", "stable", "rate", "and", "branches", "cool", "down", "from", "its", "checkpoints"];
        await WordCorpus.PrepareAsync(dir.FullName, 3, words, 20_000, 12, 64);

        // 256 tokens a step: budgets of 100, 200 and 400 steps, cooldowns from 80, 160 and 320; trunks train 320 steps.
        var spec = Path.Combine(dir.FullName, "wsd.yaml");
        File.WriteAllText(spec, $$"""
            name: wsd-e2e
            data: {{dir.FullName}}/corpus
            storage: {{dir.FullName}}/sweeps
            models: [{ n_layer: 1, n_head: 2, n_embd: 32 }, { n_layer: 2, n_head: 2, n_embd: 64 }]
            tokens: [25600, 51200, 102400]
            batch: 8
            block_size: 32
            lr: 0.003
            warmup_steps: 10
            schedule: wsd
            concurrency: 2
            checkpoint:
              every: 20
            """);
        int silo = LocalPorts.FreePort(), gateway = LocalPorts.FreePort();
        string gw = $"127.0.0.1:{gateway}";
        await using var local = OrchProcess.Start(["local", "--workers", "2", "--port", $"{silo}", "--gateway-port", $"{gateway}", "--metrics-port", "0", "--ephemeral"]);
        for (int i = 1; i <= 2; i++) await local.WaitForLineAsync($@"\[worker-{i}\] worker worker-{i} up");
        var launch = await OrchProcess.RunAsync("sweep", "launch", spec, "--json", "--coordinator", gw);
        Assert.True(launch.Exit == 0, launch.Stderr);
        string sweepId = JsonDocument.Parse(launch.Stdout).RootElement.GetProperty("id").GetString()!;

        // Kill the worker training the larger trunk once that trunk has committed a checkpoint. The worker and its pid
        // come from `orch local`'s own lines, so the kill follows the commit within milliseconds: the trunk still has
        // 280 of its 320 steps to train (a lookup through another process could lose that race on a fast machine).
        var started = await local.WaitForLineAsync(@"\[(worker-\d)\] .* run (\S+\.L2-d64-h2-trunk\S+) rank 0 generation 1 started at step 1 ", TimeSpan.FromSeconds(180));
        string victim = started.Groups[1].Value, trunkRun = started.Groups[2].Value;
        int pid = int.Parse((await local.WaitForLineAsync($@"\[{victim}\] worker {victim} up: .*, pid (\d+)")).Groups[1].Value);
        await local.WaitForLineAsync($@"run {Regex.Escape(trunkRun)} generation 1: checkpoint step 40 committed", TimeSpan.FromSeconds(180));
        Process.GetProcessById(pid).Kill();
        await local.WaitForLineAsync($@"run {Regex.Escape(trunkRun)} generation \d+: worker {victim} lost");
        await local.WaitForLineAsync($@"sweep {sweepId} finished: 8/8 runs completed", TimeSpan.FromSeconds(420));

        var status = await OrchProcess.RunAsync("sweep", "status", sweepId, "--json", "--coordinator", gw);
        var s = JsonDocument.Parse(status.Stdout).RootElement;
        Assert.Equal("Completed", s.GetProperty("state").GetString());
        var runs = s.GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(2, runs.Count(r => r.GetProperty("role").GetString() == "trunk"));
        var branches = runs.Where(r => r.GetProperty("role").GetString() == "branch").ToList();
        Assert.Equal(6, branches.Count);
        Assert.Equal([80, 80, 160, 160, 320, 320], branches.Select(b => b.GetProperty("fork_step").GetInt32()).Order().ToArray());
        Assert.All(branches, b => Assert.Equal("Completed", b.GetProperty("state").GetString()));

        // The killed trunk is one run that lost its worker and went on from a checkpoint (same run id, a later generation).
        var trunk = JsonDocument.Parse((await OrchProcess.RunAsync("run", "status", trunkRun, "--json", "--coordinator", gw)).Stdout).RootElement;
        Assert.Equal(("Completed", 320), (trunk.GetProperty("state").GetString(), trunk.GetProperty("step").GetInt32()));
        Assert.Contains(trunk.GetProperty("transitions").EnumerateArray(), t => t.GetProperty("state").GetString() == "Recovering");
        // Each branch of that trunk forked from the trunk's own checkpoint at its fork step, and trained only its cooldown.
        foreach (var b in branches.Where(b => b.GetProperty("parent_run_id").GetString() == trunkRun))
        {
            var run = JsonDocument.Parse((await OrchProcess.RunAsync("run", "status", b.GetProperty("run_id").GetString()!, "--json", "--coordinator", gw)).Stdout).RootElement;
            int fork = b.GetProperty("fork_step").GetInt32();
            Assert.EndsWith($"{trunkRun}/ckpt-{fork:D6}", run.GetProperty("init_from").GetString());
            Assert.Equal((fork, "wsd", trunkRun), (run.GetProperty("fork_step").GetInt32(), run.GetProperty("schedule").GetString(), run.GetProperty("parent").GetString()));
            Assert.True(run.GetProperty("history").EnumerateArray().First().GetProperty("step").GetInt32() > fork);
        }

        string folder = s.GetProperty("folder").GetString()!;
        Assert.Equal(7, File.ReadAllLines(Path.Combine(folder, "results.csv")).Length); // the six branches
        string reportDir = Path.Combine(dir.FullName, "report");
        var report = await OrchProcess.RunAsync("sweep", "report", "--folder", folder, "--out", reportDir, "--bootstrap", "0", "--json");
        Assert.True(report.Exit == 0, report.Stderr);
        string md = File.ReadAllText(Path.Combine(reportDir, "report.md"));
        Assert.Contains("## Cost of the cooldown branches", md);
        Assert.Contains("2 trunks at the stable LR and 6 cooldown branches", md);
        Assert.Equal(2, md.Split('\n').Count(l => l.Contains(" | trunk | ")));
        Assert.Equal(6, md.Split('\n').Count(l => l.Contains(" | branch | ")));
        Assert.True(File.Exists(Path.Combine(reportDir, "loss_curves.png")));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(reportDir, "report.json")));
        var cost = json.RootElement.GetProperty("branch_cost");
        Assert.True(cost.GetProperty("flops").GetDouble() < cost.GetProperty("flops_from_scratch").GetDouble());
        dir.Delete(true);
    }
}
