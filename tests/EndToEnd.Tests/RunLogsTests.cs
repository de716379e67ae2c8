using System.Text.Json;
using System.Text.RegularExpressions;
using Orchestrator.Sharding.Launch;

namespace Orchestrator.Tests.EndToEnd;

/// <summary>
/// `orch run logs` on `orch local` with two worker processes: the lines each rank logged while training reach the
/// console through the control plane; `-f` started with the run prints them as they come and exits 0 when the run
/// ends, and Ctrl-C ends it for a run that goes on (exit 0 both); afterwards the whole log, rank 0's alone, the last line and the JSON document; an unknown run and a bad
/// flag are one-line errors (exit 2); `workers list` shows both live workers, then a killed one as lost, with when.
/// </summary>
public sealed class RunLogsTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("orch-logs-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public async Task Run_logs_shows_every_ranks_lines_and_follow_ends_with_the_run()
    {
        var spec = Path.Combine(dir, "logged.yaml");
        File.WriteAllText(spec, $$"""
            name: logged
            trainer: light
            step_ms: 10
            steps: 300
            workers: { min: 2, max: 2 }
            checkpoint: { every: 100, path: {{dir}}/ckpt }
            """);
        int silo = LocalPorts.FreePort(), gateway = LocalPorts.FreePort();
        string gw = $"127.0.0.1:{gateway}";
        await using var local = OrchProcess.Start(["local", "--workers", "2", "--port", $"{silo}", "--gateway-port", $"{gateway}", "--metrics-port", "0", "--ephemeral"]);
        await local.WaitForLineAsync(@"\[worker-1\] worker worker-1 up");
        await local.WaitForLineAsync(@"\[worker-2\] worker worker-2 up");

        var submit = await OrchProcess.RunAsync("run", "submit", spec, "--json", "--coordinator", gw);
        Assert.True(submit.Exit == 0, submit.Stderr);
        var id = JsonDocument.Parse(submit.Stdout).RootElement.GetProperty("id").GetString()!;

        // Following from the start: both ranks' start lines arrive, and the command ends with the run, exit 0.
        await using var follow = OrchProcess.Start(["run", "logs", id, "-f", "--coordinator", gw]);
        await follow.WaitForLineAsync(Started(0), TimeSpan.FromSeconds(120));
        await follow.WaitForLineAsync(Started(1), TimeSpan.FromSeconds(60));
        Assert.Equal(0, await follow.WaitForExitAsync(TimeSpan.FromSeconds(120)));
        var status = await OrchProcess.RunAsync("run", "status", id, "--json", "--coordinator", gw);
        Assert.Equal("Completed", JsonDocument.Parse(status.Stdout).RootElement.GetProperty("state").GetString());

        // Afterwards: every rank's lines, by the run's name as well as its id.
        var all = await OrchProcess.RunAsync("run", "logs", "logged", "--coordinator", gw);
        Assert.True(all.Exit == 0, all.Stderr);
        var lines = all.Stdout.TrimEnd('\n').Split('\n');
        Assert.Single(lines, l => Regex.IsMatch(l, Started(0)));
        Assert.Single(lines, l => Regex.IsMatch(l, Started(1)));
        Assert.All(lines, l => Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z rank [01] worker-[12] (INFO |WARN |ERROR) ", l));

        var rank0 = await OrchProcess.RunAsync("run", "logs", id, "--rank", "0", "--coordinator", gw);
        Assert.True(rank0.Exit == 0, rank0.Stderr);
        Assert.All(rank0.Stdout.TrimEnd('\n').Split('\n'), l => Assert.Contains(" rank 0 ", l));
        Assert.Contains(rank0.Stdout.Split('\n'), l => Regex.IsMatch(l, Started(0)));

        var tail = await OrchProcess.RunAsync("run", "logs", id, "--tail", "1", "--coordinator", gw);
        Assert.Equal(lines[^1] + "\n", tail.Stdout);

        var json = await OrchProcess.RunAsync("run", "logs", id, "--json", "--coordinator", gw);
        Assert.True(json.Exit == 0, json.Stderr);
        var doc = JsonDocument.Parse(json.Stdout).RootElement;
        Assert.Equal((id, "Completed", 0L), (doc.GetProperty("run_id").GetString(), doc.GetProperty("state").GetString(), doc.GetProperty("dropped").GetInt64()));
        var jsonLines = doc.GetProperty("lines").EnumerateArray().ToList();
        Assert.Equal(lines.Length, jsonLines.Count);
        Assert.Equal(Enumerable.Range(1, jsonLines.Count).Select(i => (long)i), jsonLines.Select(l => l.GetProperty("seq").GetInt64()));
        Assert.Equal(jsonLines[^1].GetProperty("seq").GetInt64(), doc.GetProperty("next").GetInt64());
        var started = jsonLines.Where(l => l.GetProperty("message").GetString() == "started at step 1 of 300 with 2 ranks")
            .OrderBy(l => l.GetProperty("rank").GetInt32()).Select(l => (l.GetProperty("rank").GetInt32(), l.GetProperty("level").GetString(), l.GetProperty("worker_id").GetString()!)).ToList();
        Assert.Equal([(0, "info"), (1, "info")], started.Select(s => (s.Item1, s.Item2)));
        Assert.Equal(["worker-1", "worker-2"], started.Select(s => s.Item3).Order(StringComparer.Ordinal));

        var unknown = await OrchProcess.RunAsync("run", "logs", "nope", "--coordinator", gw);
        Assert.Equal((2, ""), (unknown.Exit, unknown.Stdout));
        Assert.Equal("error: no run 'nope' (`orch run list` shows the runs)\n", unknown.Stderr);
        var badTail = await OrchProcess.RunAsync("run", "logs", id, "--tail", "0", "--coordinator", gw);
        Assert.Equal((2, "error: --tail 0: must be 1..5000\n"), (badTail.Exit, badTail.Stderr));

        // Following a run that already ended: its lines as JSON Lines, the same as the document's, then exit 0.
        var ended = await OrchProcess.RunAsync("run", "logs", id, "-f", "--json", "--coordinator", gw);
        Assert.True(ended.Exit == 0, ended.Stderr);
        Assert.Equal(jsonLines.Select(l => l.GetProperty("seq").GetInt64()),
            ended.Stdout.TrimEnd('\n').Split('\n').Select(l => JsonDocument.Parse(l).RootElement.GetProperty("seq").GetInt64()));

        // Ctrl-C ends a follow of a run that goes on: exit 0.
        var longSpec = Path.Combine(dir, "long.yaml");
        File.WriteAllText(longSpec, $$"""
            name: long
            trainer: light
            step_ms: 10
            steps: 1000000
            workers: { min: 1, max: 1 }
            checkpoint: { every: 100000, path: {{dir}}/ckpt-long }
            """);
        var longRun = await OrchProcess.RunAsync("run", "submit", longSpec, "--json", "--coordinator", gw);
        Assert.True(longRun.Exit == 0, longRun.Stderr);
        var longId = JsonDocument.Parse(longRun.Stdout).RootElement.GetProperty("id").GetString()!;
        await using (var following = OrchProcess.Start(["run", "logs", longId, "-f", "--coordinator", gw]))
        {
            await following.WaitForLineAsync(@" INFO  started at step 1 of 1000000 with 1 ranks$");
            using (var interrupt = System.Diagnostics.Process.Start("kill", ["-INT", $"{following.Id}"])) await interrupt.WaitForExitAsync();
            Assert.Equal(0, await following.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        Assert.Equal(0, (await OrchProcess.RunAsync("run", "cancel", longId, "--coordinator", gw)).Exit);
        Assert.Equal("Cancelled", JsonDocument.Parse((await OrchProcess.RunAsync("run", "status", longId, "--watch", "--json", "--coordinator", gw)).Stdout)
            .RootElement.GetProperty("state").GetString());

        var workers = await OrchProcess.RunAsync("workers", "list", "--json", "--coordinator", gw);
        Assert.True(workers.Exit == 0, workers.Stderr);
        var listed = JsonDocument.Parse(workers.Stdout).RootElement.EnumerateArray().ToList();
        Assert.Equal([("worker-1", true), ("worker-2", true)],
            listed.Select(w => (w.GetProperty("id").GetString(), w.GetProperty("state").GetString() != "Lost" && w.GetProperty("lost_at").ValueKind == JsonValueKind.Null)));

        // A worker killed just now is lost, and listed as such (within the window) with when: by default and with --all.
        System.Diagnostics.Process.GetProcessById(listed[1].GetProperty("process_id").GetInt32()).Kill(); // SIGKILL
        await local.WaitForLineAsync(@"worker worker-2 lost: declared dead by failure detection");
        var table = await OrchProcess.RunAsync("workers", "list", "--coordinator", gw);
        Assert.True(table.Exit == 0, table.Stderr);
        var rows = table.Stdout.TrimEnd('\n').Split('\n').Select(l => l.Split('\t')).ToList();
        Assert.Equal(["id", "state", "device", "memory", "host", "pid", "run", "lost at"], rows[0]);
        Assert.Equal(("worker-1", "-"), (rows[1][0], rows[1][7]));
        Assert.Equal(("worker-2", "Lost (declared dead by failure detection)"), (rows[2][0], rows[2][1]));
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$", rows[2][7]);
        Assert.Equal("", table.Stderr);
        var everyone = await OrchProcess.RunAsync("workers", "list", "--all", "--json", "--coordinator", gw);
        var lost = JsonDocument.Parse(everyone.Stdout).RootElement.EnumerateArray().Single(w => w.GetProperty("id").GetString() == "worker-2");
        Assert.Equal("Lost", lost.GetProperty("state").GetString());
        Assert.InRange(DateTimeOffset.UtcNow - lost.GetProperty("lost_at").GetDateTimeOffset(), TimeSpan.Zero, TimeSpan.FromMinutes(2));
    }

    /// <summary>The line TrainingLoop logs once a rank's generation starts (the light job counts steps from 1), as `run logs` prints it.</summary>
    static string Started(int rank) => $@" rank {rank} worker-[12] INFO  started at step 1 of 300 with 2 ranks$";
}
