using System.Text.Json;
using Orchestrator.Sharding.Launch;

namespace Orchestrator.Tests.EndToEnd;

/// <summary>
/// Packing for real: two GPT runs on one CPU worker process with two slots train at the same time, on two threads
/// of one process, and reach exactly the validation loss they reach one after the other on a one-slot worker (the
/// train losses are reported over timed windows, so only the final weights compare bit for bit); each run's status
/// says where its wall time went.
/// </summary>
public sealed class PackedRunsTests
{
    [Fact]
    public async Task Two_runs_packed_on_one_worker_end_as_they_end_alone()
    {
        var dir = Directory.CreateTempSubdirectory("orch-pack-");
        string[] words = ["two", "runs", "share", "one", "process", "and", "train", "side", "by", "side", "without", "noticing"];
        await WordCorpus.PrepareAsync(dir.FullName, 9, words, 12_000, 10, 64);
        string[] specs = [Spec(dir.FullName, "a", 2, 64, 7), Spec(dir.FullName, "b", 1, 32, 8)];

        var alone = await RunAllAsync(specs, slots: 1);
        var packed = await RunAllAsync(specs, slots: 2);

        for (int i = 0; i < specs.Length; i++)
        {
            Assert.Equal(40, alone[i].Steps[^1]);
            Assert.Equal(40, packed[i].Steps[^1]);
            Assert.Equal(alone[i].ValLoss, packed[i].ValLoss);
            Assert.Equal(40, packed[i].Phases.GetProperty("steps").GetInt32());
            Assert.True(packed[i].Phases.GetProperty("total_seconds").GetDouble() >= packed[i].Phases.GetProperty("steps_seconds").GetDouble());
        }
        Assert.Equal(["worker-1"], alone.Select(r => r.Worker).Distinct());
        // Packed: each run on its own slot of the one process, the two in flight at once.
        Assert.Equal(["worker-1/0", "worker-1/1"], packed.Select(r => r.Worker).Order());
        Assert.True(packed[1].Started < packed[0].Ended && packed[0].Started < packed[1].Ended,
            $"not concurrent: a {packed[0].Started:O}..{packed[0].Ended:O}, b {packed[1].Started:O}..{packed[1].Ended:O}");
        dir.Delete(true);
    }

    static string Spec(string dir, string name, int layers, int embd, int seed)
    {
        var path = Path.Combine(dir, name + ".yaml");
        File.WriteAllText(path, $$"""
            name: {{name}}
            data: {{dir}}/corpus
            model: { n_layer: {{layers}}, n_head: 2, n_embd: {{embd}}, block_size: 64 }
            batch: 8
            steps: 40
            lr: 0.003
            seed: {{seed}}
            checkpoint: { every: 20, keep: 1, path: {{dir}}/ckpt-{{Guid.NewGuid():N}} }
            """);
        return path;
    }

    sealed record Finished(List<int> Steps, double ValLoss, string Worker, DateTimeOffset Started, DateTimeOffset Ended, JsonElement Phases);

    static async Task<List<Finished>> RunAllAsync(string[] specs, int slots)
    {
        int silo = LocalPorts.FreePort(), gateway = LocalPorts.FreePort();
        string gw = $"127.0.0.1:{gateway}";
        await using var local = OrchProcess.Start(["local", "--workers", "1", "--slots", $"{slots}", "--port", $"{silo}", "--gateway-port", $"{gateway}", "--metrics-port", "0", "--ephemeral"]);
        await local.WaitForLineAsync(@"\[worker-1\] worker worker-1 up");
        var ids = new List<string>();
        foreach (var spec in specs)
        {
            var submit = await OrchProcess.RunAsync("run", "submit", spec, "--json", "--coordinator", gw);
            Assert.True(submit.Exit == 0, submit.Stderr);
            ids.Add(JsonDocument.Parse(submit.Stdout).RootElement.GetProperty("id").GetString()!);
        }
        var done = new List<Finished>();
        foreach (var id in ids)
        {
            await local.WaitForLineAsync($@"run {id}: Completed", TimeSpan.FromSeconds(240));
            var status = await OrchProcess.RunAsync("run", "status", id, "--json", "--coordinator", gw);
            var s = JsonDocument.Parse(status.Stdout).RootElement;
            done.Add(new Finished(
                [.. s.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("step").GetInt32())],
                s.GetProperty("val_loss").GetDouble(),
                s.GetProperty("workers").EnumerateArray().Single().GetString()!,
                s.GetProperty("started_at").GetDateTimeOffset(), s.GetProperty("ended_at").GetDateTimeOffset(),
                s.GetProperty("phases").Clone()));
        }
        return done;
    }
}
