using Orchestrator.Sharding.Launch;

namespace Orchestrator.Tests.EndToEnd;

/// <summary>What users see when something is wrong: one line naming the problem, the right exit code, no stack trace.</summary>
public sealed class BadInputTests
{
    [Fact]
    public async Task Malformed_and_invalid_specs_exit_2_before_contacting_anyone()
    {
        var dir = Directory.CreateTempSubdirectory("orch-bad-");
        var malformed = Path.Combine(dir.FullName, "bad.yaml");
        File.WriteAllText(malformed, "name: x\nworkers: { min: 2, max\n");
        var r = await OrchProcess.RunAsync("run", "submit", malformed, "--coordinator", $"127.0.0.1:{LocalPorts.FreePort()}");
        Assert.Equal(2, r.Exit);
        Assert.StartsWith($"error: {malformed}: line ", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));

        var invalid = Path.Combine(dir.FullName, "invalid.yaml");
        File.WriteAllText(invalid, "name: x\ntrainer: light\nsteps: 10\nworkers: { min: 3, max: 2 }\ncheckpoint: { path: /tmp/x }\n");
        r = await OrchProcess.RunAsync("run", "submit", invalid, "--coordinator", $"127.0.0.1:{LocalPorts.FreePort()}");
        Assert.Equal(2, r.Exit);
        Assert.Equal("error: invalid run spec: workers.max: 2 is below workers.min 3", r.Stderr.Trim());

        r = await OrchProcess.RunAsync("run", "submit", Path.Combine(dir.FullName, "missing.yaml"));
        Assert.Equal(2, r.Exit);
        Assert.Contains("does not exist", r.Stderr);
        dir.Delete(true);
    }

    [Theory]
    [InlineData("worker --slots 0", "error: --slots: 0 is not 1..64 (runs trained at once by one worker)")]
    [InlineData("worker --slots 65", "error: --slots: 65 is not 1..64 (runs trained at once by one worker)")]
    [InlineData("local --slots 0", "error: --slots: 0 is not 1..64 (runs trained at once by one worker)")]
    [InlineData("worker --mps", "error: --mps: needs --device cuda:N (MPS shares a GPU between processes)")]
    public async Task Bad_slots_and_mps_exit_2_before_starting_anything(string args, string error)
    {
        int port = LocalPorts.FreePort();
        var r = await OrchProcess.RunAsync([.. args.Split(' '), "--port", $"{port}"]);
        Assert.Equal(2, r.Exit);
        Assert.Equal(error, r.Stderr.Trim());
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public async Task Absent_coordinator_is_one_line_with_the_address_within_3_seconds()
    {
        int port = LocalPorts.FreePort();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var r = await OrchProcess.RunAsync("run", "list", "--coordinator", $"127.0.0.1:{port}");
        var took = clock.Elapsed;
        Assert.Equal(1, r.Exit);
        var line = Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.Equal($"error: cannot reach the coordinator at 127.0.0.1:{port} (nothing listens there: connection refused); " +
            "start it with `orch coordinator` or `orch local`, or pass --coordinator HOST:PORT", line);
        // Process start-up included (about a second); Orleans' own retries took 16 s.
        Assert.True(took < TimeSpan.FromSeconds(3), $"took {took.TotalSeconds:F1} s");

        // A worker may start before its coordinator: it waits, saying so, for --join-timeout-s.
        var w = await OrchProcess.RunAsync("worker", "--coordinator-silo", $"127.0.0.1:{port}", "--join-timeout-s", "2");
        Assert.Equal(1, w.Exit);
        var lines = w.Stderr.Trim().Split('\n');
        Assert.Equal($"the coordinator at 127.0.0.1:{port} is not up yet; retrying for 2 s more", lines[0]);
        Assert.Equal($"error: cannot reach the coordinator at 127.0.0.1:{port} after 2 s (start it with `orch coordinator` or `orch local`, " +
            "or pass --coordinator-silo HOST:PORT; --join-timeout-s waits longer)", lines[^1]);
    }

    [Fact]
    public async Task Unknown_run_and_incompatible_worker_against_a_live_coordinator()
    {
        int silo = LocalPorts.FreePort(), gateway = LocalPorts.FreePort();
        await using var coordinator = OrchProcess.Start(["coordinator", "--port", $"{silo}", "--gateway-port", $"{gateway}", "--metrics-port", "0", "--ephemeral"]);
        await coordinator.WaitForLineAsync("coordinator up");

        var r = await OrchProcess.RunAsync("run", "status", "nope-000000", "--coordinator", $"127.0.0.1:{gateway}");
        Assert.Equal(2, r.Exit);
        Assert.Equal("error: no run 'nope-000000' (`orch run list` shows the runs)", r.Stderr.Trim());

        await using var old = OrchProcess.Start(["worker", "--coordinator-silo", $"127.0.0.1:{silo}", "--name", "old"],
            new Dictionary<string, string> { ["ORCH_PROTOCOL_VERSION"] = "0" });
        Assert.Equal(2, await old.WaitForExitAsync(TimeSpan.FromSeconds(90)));
        Assert.Contains("error: worker 'old' speaks protocol 0 but this coordinator speaks 2", old.Output);

        var list = await OrchProcess.RunAsync("workers", "list", "--json", "--coordinator", $"127.0.0.1:{gateway}");
        Assert.Equal(0, list.Exit);
        Assert.Equal("[]", list.Stdout.Trim());
    }
}
