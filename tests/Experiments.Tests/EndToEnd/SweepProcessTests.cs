using System.Text.Json;
using System.Text.RegularExpressions;

namespace Orchestrator.Tests.Experiments.EndToEnd;

/// <summary>The real CLI: a sweep on `orch local` (light trainer), its report, and the bad-input contract (exit 2).</summary>
public sealed class SweepProcessTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("orch-sweep-e2e-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task A_sweep_on_orch_local_completes_and_reports()
    {
        await using var local = OrchProcess.Start(["local", "--workers", "2", "--port", "0", "--gateway-port", "0", "--metrics-port", "0", "--ephemeral"]);
        string line = (await local.WaitForLineAsync("local cluster:.*", TimeSpan.FromSeconds(120))).Value;
        string gateway = Regex.Match(line, @"gateway (127\.0\.0\.1:\d+)").Groups[1].Value;

        string spec = Write("sweep.yaml", $"""
            name: e2e
            data: {_dir}
            storage: {Path.Combine(_dir, "sweeps")}
            models:
              - {"{"} n_layer: 1, n_head: 1, n_embd: 32 {"}"}
              - {"{"} n_layer: 2, n_head: 2, n_embd: 64 {"}"}
            tokens: [8192, 16384]
            batch: 16
            block_size: 32
            concurrency: 2
            trainer: light
            checkpoint:
              every: 10
            """);
        (int Exit, string Stdout, string Stderr) launched;
        try
        {
            launched = await OrchProcess.RunAsync(TimeSpan.FromMinutes(4), "sweep", "launch", spec, "--watch", "--json", "--coordinator", gateway);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\nlocal cluster output:\n{local.Output}");
        }
        var (code, stdout, stderr) = launched;
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}\nlocal:\n{local.Output}");
        using var status = JsonDocument.Parse(stdout);
        Assert.Equal("Completed", status.RootElement.GetProperty("state").GetString());
        Assert.Equal(4, status.RootElement.GetProperty("done").GetInt32());
        string folder = status.RootElement.GetProperty("folder").GetString()!;
        Assert.Equal(5, File.ReadAllLines(Path.Combine(folder, "results.csv")).Length);
        // Each run checkpointed under the sweep's folder.
        Assert.Equal(4, Directory.GetDirectories(Path.Combine(folder, "runs")).Length);

        var report = await OrchProcess.RunAsync(TimeSpan.FromMinutes(2), "sweep", "report", "--folder", folder, "--out", Path.Combine(_dir, "report"), "--bootstrap", "0", "--json");
        Assert.True(report.Exit == 0, report.Stderr);
        Assert.True(File.Exists(Path.Combine(_dir, "report", "report.md")));
        Assert.True(File.Exists(Path.Combine(_dir, "report", "loss_curves.png")));
    }

    [Theory]
    [InlineData("N,loss\n1e6,3\n", "missing column 'D'")]
    [InlineData("N,D,loss\n1e6,1e9,3\n2e6,-1e9,2.9\n", ":3: D = -1e9 must be a positive finite number")]
    [InlineData("N,D,loss\n1e6,1e9,3\n2e6,1e9,2.9\n", "2 point(s) cannot determine 5 parameters: give at least 5 runs")]
    public async Task Fit_bad_input_exits_2_with_one_line(string csv, string message)
    {
        string path = Write($"p{Math.Abs(csv.GetHashCode())}.csv", csv);
        var (code, stdout, stderr) = await OrchProcess.RunAsync(TimeSpan.FromMinutes(1), "fit", "--input", path);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains(message, stderr);
        Assert.Single(stderr.TrimEnd().Split('\n'));
    }

    [Theory]
    [InlineData("colour: red\n", "unknown key 'colour'")]
    [InlineData("tokens: [-1]\n", "tokens[0] = -1 must be a positive number")]
    [InlineData("models: [{ n_layer: 2, n_head: 3, n_embd: 64 }]\n", "n_embd 64 is not divisible by n_head 3")]
    [InlineData("schedule: wsd\ncooldown_fraction: 1\n", "cooldown_fraction 1 must be inside (0, 1)")]
    [InlineData("branching: true\n", "branching: true needs schedule: wsd")]
    [InlineData("schedule: wsd\nwarmup_steps: 900\n", "before warmup ends at step 900")]
    public async Task Sweep_launch_bad_spec_exits_2_before_connecting(string extra, string message)
    {
        string body = "name: s\ndata: /d\nstorage: /s\n" + (extra.StartsWith("models") ? "" : "params: [1e5]\n")
            + (extra.StartsWith("tokens") ? "" : "tokens: [1e6]\n") + extra;
        string path = Write($"s{Math.Abs(extra.GetHashCode())}.yaml", body);
        // No coordinator is running on this port: the spec must be refused before any connection is tried.
        var (code, _, stderr) = await OrchProcess.RunAsync(TimeSpan.FromMinutes(1), "sweep", "launch", path, "--coordinator", "127.0.0.1:1");
        Assert.Equal(2, code);
        Assert.Contains(message, stderr);
    }
}
