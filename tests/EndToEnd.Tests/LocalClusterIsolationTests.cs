using System.Text.Json;

namespace Orchestrator.Tests.EndToEnd;

/// <summary>
/// Two `orch local` clusters of one user on one machine (free ports, a connection file each): a console command
/// lands on the cluster it names and is refused by another; a bare command with two running asks which. The first
/// cluster is then SIGKILLed whole and started again under its name, and finds its finished run and sweep.
/// </summary>
public sealed class LocalClusterIsolationTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("orch-isolation-").FullName;
    readonly Dictionary<string, string> env;

    public LocalClusterIsolationTests() => env = new() { ["ORCH_STATE_DIR"] = Path.Combine(dir, "state") };

    public void Dispose() => Directory.Delete(dir, recursive: true);

    Task<(int Exit, string Stdout, string Stderr)> Orch(params string[] args) => OrchProcess.RunAsync(env, args);

    string Spec(string name, int steps)
    {
        var path = Path.Combine(dir, name + ".yaml");
        File.WriteAllText(path, $"""
            name: {name}
            trainer: light
            step_ms: 10
            steps: {steps}
            workers: {"{"} min: 1, max: 1 {"}"}
            checkpoint: {"{"} every: 10, path: {Path.Combine(dir, name)} {"}"}
            """);
        return path;
    }

    [Fact]
    public async Task Two_local_clusters_each_get_their_own_runs_and_a_restarted_one_finds_its_runs_and_sweeps()
    {
        var a = OrchProcess.Start(["local", "--name", "a", "--workers", "1", "--metrics-port", "0"], env);
        string sweepId;
        try
        {
            await using var b = OrchProcess.Start(["local", "--name", "b", "--workers", "0", "--metrics-port", "0"], env);
            await a.WaitForLineAsync(@"^local cluster: a, ");
            await b.WaitForLineAsync(@"^local cluster: b, ");
            await a.WaitForLineAsync(@"\[worker-1\] worker worker-1 up");

            var bare = await Orch("run", "list");
            Assert.Equal(2, bare.Exit);
            Assert.Matches(@"^error: several local clusters are running \(a at 127\.0\.0\.1:\d+, b at 127\.0\.0\.1:\d+\): pass --cluster NAME\n$", bare.Stderr);

            var toA = await Orch("run", "submit", Spec("alpha", 30), "--cluster", "a", "--json");
            Assert.True(toA.Exit == 0, toA.Stderr);
            var runId = JsonDocument.Parse(toA.Stdout).RootElement.GetProperty("id").GetString()!;
            var toB = await Orch("run", "submit", Spec("beta", 30), "--cluster", "b", "--json");
            Assert.True(toB.Exit == 0, toB.Stderr);
            Assert.Equal(["alpha"], await RunNames("a"));
            Assert.Equal(["beta"], await RunNames("b"));

            // A worker started by hand at cluster b's silo joins b (its name found in b's connection file) and takes b's run.
            var siloB = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "state", "clusters", "b.json"))).RootElement.GetProperty("silo_port").GetInt32();
            await using var extra = OrchProcess.Start(["worker", "--coordinator-silo", $"127.0.0.1:{siloB}", "--name", "extra"], env);
            await extra.WaitForLineAsync("worker extra up");
            var betaId = JsonDocument.Parse(toB.Stdout).RootElement.GetProperty("id").GetString()!;
            var betaDone = await Orch("run", "status", betaId[..^2], "--watch", "--json", "--cluster", "b"); // a unique prefix of the id
            Assert.True(betaDone.Exit == 0, betaDone.Stderr + b.Output + extra.Output);
            Assert.Equal("Completed", JsonDocument.Parse(betaDone.Stdout).RootElement.GetProperty("state").GetString()); // b's only worker trained it
            var workersB = await Orch("workers", "list", "--json", "--cluster", "b");
            Assert.Equal(["extra"], JsonDocument.Parse(workersB.Stdout).RootElement.EnumerateArray().Select(w => w.GetProperty("id").GetString()!).ToArray());

            // The address of cluster a, asked for as cluster b: refused at once, one line.
            var gatewayA = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "state", "clusters", "a.json"))).RootElement.GetProperty("gateway").GetString()!;
            var wrong = await Orch("run", "list", "--cluster", "b", "--coordinator", gatewayA);
            Assert.Equal(2, wrong.Exit);
            Assert.Equal($"error: the coordinator at {gatewayA} refused cluster id 'b': it serves another cluster (pass the --cluster it was started with, or the address of cluster 'b')\n", wrong.Stderr);

            var done = await Orch("run", "status", runId, "--watch", "--json", "--cluster", "a");
            Assert.True(done.Exit == 0, done.Stderr + a.Output);
            var sweep = Path.Combine(dir, "sweep.yaml");
            File.WriteAllText(sweep, $"""
                name: kept
                data: {dir}
                storage: {Path.Combine(dir, "sweeps")}
                models:
                  - {"{"} n_layer: 1, n_head: 1, n_embd: 32 {"}"}
                tokens: [8192]
                batch: 16
                block_size: 32
                trainer: light
                """);
            var swept = await Orch("sweep", "launch", sweep, "--watch", "--cluster", "a");
            Assert.True(swept.Exit == 0, swept.Stderr + a.Output);
            // Piped watch lines: the time, the sweep id, each run that ends with its key, run id and losses, the count.
            var watched = swept.Stdout.TrimEnd('\n').Split('\n');
            sweepId = System.Text.RegularExpressions.Regex.Match(watched[^1], @"^\d\d:\d\d:\d\d sweep (kept-[0-9a-f]{8}): 1/1 done, 0 failed, Completed$").Groups[1].Value;
            Assert.NotEqual("", sweepId);
            Assert.Contains(watched, l => System.Text.RegularExpressions.Regex.IsMatch(l, $@"^\d\d:\d\d:\d\d sweep {sweepId}: run \S+ Completed \(\S+\): loss \d+\.\d{{4}}, val_loss \d+\.\d{{4}}$"));
        }
        finally { await a.DisposeAsync(); } // SIGKILL, coordinator and worker included

        await using var again = OrchProcess.Start(["local", "--name", "a", "--workers", "0", "--metrics-port", "0"], env);
        await again.WaitForLineAsync(@"^local cluster: a, ");
        var list = await Orch("run", "list", "--json", "--cluster", "a");
        Assert.True(list.Exit == 0, list.Stderr);
        var runs = JsonDocument.Parse(list.Stdout).RootElement.EnumerateArray().ToList();
        var alpha = Assert.Single(runs, r => r.GetProperty("name").GetString() == "alpha");
        Assert.Equal("Completed", alpha.GetProperty("state").GetString());
        Assert.Equal(30, alpha.GetProperty("step").GetInt32());
        Assert.Contains(runs, r => r.GetProperty("state").GetString() == "Completed" && r.GetProperty("name").GetString() != "alpha"); // the sweep's run
        // The same spec launched again finds its finished sweep: nothing new trains.
        var relaunched = await Orch("sweep", "launch", Path.Combine(dir, "sweep.yaml"), "--json", "--cluster", "a");
        Assert.True(relaunched.Exit == 0, relaunched.Stderr);
        Assert.Equal(sweepId, JsonDocument.Parse(relaunched.Stdout).RootElement.GetProperty("id").GetString());
        Assert.Equal(runs.Count, (await Orch("run", "list", "--json", "--cluster", "a")) is var after && after.Exit == 0
            ? JsonDocument.Parse(after.Stdout).RootElement.GetArrayLength() : -1);
        // Piped, `run list` is one header line and one line per run.
        var piped = await Orch("run", "list", "--cluster", "a");
        var lines = piped.Stdout.TrimEnd('\n').Split('\n');
        Assert.Equal("id\tstate\tstep\tloss\ttokens/s\tworld\tgeneration\tcheckpoints\tsweep", lines[0]);
        Assert.Equal(runs.Count, lines.Length - 1);
        Assert.Contains(lines, l => l.StartsWith(alpha.GetProperty("id").GetString() + "\tCompleted\t30/30\t", StringComparison.Ordinal));
        var kept = await Orch("sweep", "status", sweepId, "--json", "--cluster", "a");
        Assert.True(kept.Exit == 0, kept.Stderr);
        Assert.Equal("Completed", JsonDocument.Parse(kept.Stdout).RootElement.GetProperty("state").GetString());
        Assert.Equal(1, JsonDocument.Parse(kept.Stdout).RootElement.GetProperty("done").GetInt32());
    }

    async Task<string[]> RunNames(string cluster)
    {
        var list = await Orch("run", "list", "--json", "--cluster", cluster);
        Assert.True(list.Exit == 0, list.Stderr);
        return [.. JsonDocument.Parse(list.Stdout).RootElement.EnumerateArray().Select(r => r.GetProperty("name").GetString()!)];
    }
}
