using System.Net;
using System.Text.RegularExpressions;
using Orchestrator.Contracts.Runs;
using Orchestrator.Coordinator.Hosting;
using Orchestrator.Coordinator.Runs;

namespace Orchestrator.Tests.EndToEnd;

/// <summary>
/// A GPT run whose data folder does not exist, on a real `orch local` worker: the worker's failure is permanent, so
/// the run fails at once with the loader's message (one Failed transition, no Recovering, no retries). The CLI
/// refuses the same spec before submitting it (`--dry-run`, and a submit to a loopback cluster), exit 2, one line. A
/// corpus with a damaged shard fails the same way, the shard named, before a step is trained.
/// </summary>
public sealed class PermanentFailureTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("orch-permanent-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>Writes a 5-step, one-worker GPT RunSpec over <paramref name="data"/> into the test folder; its path.</summary>
    string TinySpec(string file, string name, string data, string checkpoints)
    {
        var path = Path.Combine(dir, file);
        File.WriteAllText(path, $"""
            name: {name}
            data: {data}
            model: {"{"} n_layer: 1, n_head: 1, n_embd: 16, block_size: 16 {"}"}
            batch: 2
            steps: 5
            workers: {"{"} min: 1, max: 1 {"}"}
            checkpoint: {"{"} every: 5, path: {Path.Combine(dir, checkpoints)} {"}"}
            """);
        return path;
    }

    [Fact]
    public async Task A_missing_data_folder_fails_the_run_at_once_and_the_cli_refuses_it_first()
    {
        var missing = Path.Combine(dir, "no-such-corpus");
        var specPath = TinySpec("run.yaml", "nodata", missing, "ckpt");
        string problem = $"data: folder '{missing}' does not exist: run `orch data prepare --out {missing}` first";

        var dry = await OrchProcess.RunAsync("run", "submit", specPath, "--dry-run");
        Assert.Equal(2, dry.Exit);
        Assert.Equal($"error: invalid run spec: {problem}\n", dry.Stderr);

        await using var local = OrchProcess.Start(["local", "--name", "permanent", "--workers", "1", "--metrics-port", "0", "--ephemeral"]);
        var up = await local.WaitForLineAsync(@"^local cluster: permanent, coordinator gateway (127\.0\.0\.1:\d+)");
        await local.WaitForLineAsync(@"\[worker-1\] worker worker-1 up");
        var gateway = IPEndPoint.Parse(up.Groups[1].Value);

        var submit = await OrchProcess.RunAsync("run", "submit", specPath, "--cluster", "permanent");
        Assert.Equal(2, submit.Exit);
        Assert.Equal($"error: invalid run spec: {problem}\n", submit.Stderr);

        // A console that cannot see the folder (another machine) submits it anyway: the worker's failure ends the run.
        using var host = await ClusterClientFactory.ConnectAsync(gateway, null, "permanent", OrchProcess.TokenOf("permanent"), CancellationToken.None);
        var client = host.Client();
        var spec = RunSpecYaml.Load(specPath);
        var id = (await client.SubmitRunAsync(spec)).Id;
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var final = await client.WaitForRunAsync(id, TimeSpan.FromMilliseconds(200), deadline.Token);

        Assert.Equal(RunState.Failed, final.State);
        Assert.Matches($"^rank 0 \\(worker-1\\) failed: .*{Regex.Escape(missing)}", final.Reason);
        Assert.Single(final.Transitions, t => t.State == RunState.Failed);
        Assert.DoesNotContain(final.Transitions, t => t.State == RunState.Recovering);
        Assert.Equal(1, final.Generation);
    }

    [Fact]
    public async Task A_damaged_corpus_shard_fails_a_cluster_run_at_once_with_the_shard_named()
    {
        string corpus = await WordCorpus.PrepareAsync(dir, 11, ["a", "damaged", "shard", "is", "never", "trained", "on"], 4_000, 8, 16);
        string shard = Directory.GetFiles(corpus, "*.parquet").Order(StringComparer.Ordinal).First();
        var bytes = File.ReadAllBytes(shard);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(shard, bytes);
        var specPath = TinySpec("damaged.yaml", "damaged", corpus, "ckpt-damaged");

        await using var local = OrchProcess.Start(["local", "--name", "damaged", "--workers", "1", "--metrics-port", "0", "--ephemeral"]);
        var up = await local.WaitForLineAsync(@"^local cluster: damaged, coordinator gateway (127\.0\.0\.1:\d+)");
        await local.WaitForLineAsync(@"\[worker-1\] worker worker-1 up");
        using var host = await ClusterClientFactory.ConnectAsync(IPEndPoint.Parse(up.Groups[1].Value), null, "damaged", OrchProcess.TokenOf("damaged"), CancellationToken.None);
        var client = host.Client();
        var id = (await client.SubmitRunAsync(RunSpecYaml.Load(specPath))).Id;
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var final = await client.WaitForRunAsync(id, TimeSpan.FromMilliseconds(200), deadline.Token);

        Assert.Equal(RunState.Failed, final.State);
        Assert.StartsWith($"rank 0 (worker-1) failed: --data {corpus}: shard {Path.GetFileName(shard)} is damaged (", final.Reason);
        Assert.Single(final.Transitions, t => t.State == RunState.Failed);
        Assert.DoesNotContain(final.Transitions, t => t.State == RunState.Recovering);
        Assert.Equal(0, final.Step);
    }
}
