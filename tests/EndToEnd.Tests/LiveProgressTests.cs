using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Runs;
using Orchestrator.Coordinator.Hosting;
using Orchestrator.Sharding.Launch;

namespace Orchestrator.Tests.EndToEnd;

/// <summary>
/// Live metrics under the real control plane: `orch local` with one worker trains a GPT run whose checkpoint interval
/// is longer than the run, and its status still moves about every second: polled through the gateway, the step never
/// stands still for more than 2 s beyond the training time of the steps it waits for (milliseconds each, unless the
/// machine is overloaded); `run status --json` shows the rate, LR, elapsed time and ETA; and the watch view a
/// user sees, `run status --watch` on a terminal (a tmux pane), shows the step change between two reads of the screen.
/// </summary>
public sealed class LiveProgressTests
{
    static readonly TimeSpan MaxGap = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Status_and_the_watch_screen_move_between_checkpoints()
    {
        var dir = Directory.CreateTempSubdirectory("orch-live-");
        string[] words = ["status", "moves", "every", "second", "while", "the", "model", "trains", "between", "checkpoints"];
        await WordCorpus.PrepareAsync(dir.FullName, 3, words, 8_000, 9, 32);
        var spec = Path.Combine(dir.FullName, "live.yaml");
        const int steps = 100_000;
        File.WriteAllText(spec, $$"""
            name: live
            data: {{dir.FullName}}/corpus
            model: { n_layer: 1, n_head: 2, n_embd: 32, block_size: 32 }
            batch: 4
            steps: {{steps}}
            lr: 0.003
            checkpoint: { every: 200000, keep: 1, path: {{dir.FullName}}/ckpt }
            """);

        int silo = LocalPorts.FreePort(), gateway = LocalPorts.FreePort(), metricsPort = LocalPorts.FreePort();
        string gw = $"127.0.0.1:{gateway}";
        await using var local = OrchProcess.Start(["local", "--workers", "1", "--port", $"{silo}", "--gateway-port", $"{gateway}", "--metrics-port", $"{metricsPort}", "--ephemeral"]);
        await local.WaitForLineAsync(@"\[worker-1\] worker worker-1 up");
        var submit = await OrchProcess.RunAsync("run", "submit", spec, "--json", "--coordinator", gw);
        Assert.True(submit.Exit == 0, submit.Stderr);
        var id = JsonDocument.Parse(submit.Stdout).RootElement.GetProperty("id").GetString()!;

        using var client = await ClusterClientFactory.ConnectAsync(new IPEndPoint(IPAddress.Loopback, gateway), null, ClusterNames.LocalClusterName, OrchProcess.TokenOf(ClusterNames.LocalClusterName), CancellationToken.None);
        var grains = client.Client();
        // Every change of the reported step, with when it was seen (polled every 100 ms).
        var changes = new List<(TimeSpan At, int Step)>();
        var clock = Stopwatch.StartNew();
        using var stopPolling = new CancellationTokenSource();
        var firstStep = new TaskCompletionSource();
        var poller = Task.Run(async () =>
        {
            int last = 0;
            while (!stopPolling.IsCancellationRequested)
            {
                var s = await grains.GetRunStatusAsync(id);
                Assert.False(s.State.IsFinal(), $"the run ended: {s.State} ({s.Reason})");
                if (s.Step != last)
                {
                    lock (changes) changes.Add((clock.Elapsed, s.Step));
                    last = s.Step;
                    firstStep.TrySetResult();
                }
                await Task.Delay(100);
            }
        });
        await firstStep.Task.WaitAsync(TimeSpan.FromSeconds(180));

        // The watch view on a terminal: two reads of the screen show two different steps.
        var tmux = new Tmux();
        try
        {
            tmux.Start(220, 12, ["dotnet", OrchProcess.Dll, "run", "status", id, "--watch", "--coordinator", gw, "--cluster", ClusterNames.LocalClusterName,
                "--token-file", OrchProcess.TokenFileOf(ClusterNames.LocalClusterName)]); // tmux's server does not have the test's ORCH_STATE_DIR
            int seen = await tmux.WaitForStepAsync(steps, after: 0);
            int later = await tmux.WaitForStepAsync(steps, after: seen);
            Assert.True(later > seen, $"{seen} then {later}");
        }
        finally
        {
            tmux.Dispose();
        }

        // At least 8 s of training observed, then the status as `run status --json` prints it.
        while (clock.Elapsed - changes[0].At < TimeSpan.FromSeconds(8)) await Task.Delay(200);
        var status = await OrchProcess.RunAsync("run", "status", id, "--json", "--coordinator", gw);
        Assert.True(status.Exit == 0, status.Stderr);
        var j = JsonDocument.Parse(status.Stdout).RootElement;
        Assert.Equal("Running", j.GetProperty("state").GetString());
        int step = j.GetProperty("step").GetInt32();
        Assert.InRange(step, 1, steps - 1);
        Assert.Empty(j.GetProperty("checkpoints").EnumerateArray());
        Assert.True(j.GetProperty("tokens_per_second").GetDouble() > 0);
        Assert.True(j.GetProperty("lr").GetDouble() > 0);
        Assert.Equal((long)step * 4 * 32, j.GetProperty("tokens_trained").GetInt64());
        Assert.True(j.GetProperty("elapsed_seconds").GetDouble() >= 8);
        Assert.True(j.GetProperty("eta_seconds").GetDouble() > 0);

        // Prometheus, by its conventions: the tokens counter ends in _total, step time is a histogram, LR and state gauges per run.
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) })
        {
            var scrape = await http.GetStringAsync($"http://localhost:{metricsPort}/metrics");
            var run = $"run=\"{id}\"";
            Assert.Contains(scrape.Split('\n'), l => l.StartsWith("orch_run_tokens_total{", StringComparison.Ordinal) && l.Contains(run) && !l.EndsWith(" 0"));
            Assert.Contains(scrape.Split('\n'), l => l.StartsWith("orch_run_step_seconds_bucket{", StringComparison.Ordinal) && l.Contains(run));
            Assert.Contains(scrape.Split('\n'), l => l.StartsWith("orch_run_lr{", StringComparison.Ordinal) && l.Contains(run));
            Assert.Contains(scrape.Split('\n'), l => l.StartsWith("orch_run_state{", StringComparison.Ordinal) && l.Contains(run) && l.Contains("state=\"Running\"") && l.EndsWith(" 1"));
        }

        stopPolling.Cancel();
        await poller;
        // A report waits for the steps under way to end: where the machine is so loaded that steps take a sizeable
        // part of a second, the allowance grows by the training time of the steps between the two changes (what the
        // trainer measured), so what is checked is the delay the reporting path adds.
        var history = (await grains.GetRunStatusAsync(id)).History;
        double TrainingSeconds(int from, int to) => history.Where(h => h.Step > from && h.Step <= to).Sum(h => h.StepSeconds * h.WindowSteps);
        lock (changes)
        {
            var seen = string.Join(", ", changes.Select(c => $"{c.Step} at {c.At.TotalSeconds:F1} s"));
            var gaps = changes.Zip(changes.Skip(1), (a, b) => (Gap: b.At - a.At, From: a.Step, To: b.Step, Training: TrainingSeconds(a.Step, b.Step))).ToList();
            Assert.True(gaps.Count >= 4, $"{changes.Count} step changes seen: {seen}");
            foreach (var g in gaps)
                Assert.True(g.Gap <= MaxGap + TimeSpan.FromSeconds(g.Training),
                    $"the step stood at {g.From} for {g.Gap.TotalSeconds:F2} s before {g.To} ({g.Training:F2} s of training); every change: {seen}");
        }
        await grains.CancelRunAsync(id);
        dir.Delete(true);
    }

    /// <summary>A detached tmux session on a private server, read with capture-pane.</summary>
    sealed class Tmux : IDisposable
    {
        readonly string server = "orch-test-" + Guid.NewGuid().ToString("N")[..8];

        /// <summary>Runs the command in a pane of that size; when it exits, the pane says so and stays to be read.</summary>
        public void Start(int width, int height, IEnumerable<string> command)
        {
            var args = new List<string> { "new-session", "-d", "-s", "watch", "-x", $"{width}", "-y", $"{height}",
                "sh", "-c", "\"$@\"; echo \"[exited $?]\"; sleep 600", "sh" };
            args.AddRange(command);
            Run(args);
        }

        public string Screen() => Run(["capture-pane", "-p", "-t", "watch"]);

        /// <summary>The step the screen shows once it shows one above <paramref name="after"/>.</summary>
        public async Task<int> WaitForStepAsync(int total, int after)
        {
            var deadline = Stopwatch.StartNew();
            var pattern = new Regex($@"step (\d+)/{total}\b");
            string screen = "";
            while (deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                screen = Screen();
                if (pattern.Match(screen) is { Success: true } m && int.Parse(m.Groups[1].Value) is int s && s > after) return s;
                await Task.Delay(250);
            }
            throw new TimeoutException($"the watch screen showed no step above {after} in 60 s; it shows:\n{screen}");
        }

        string Run(IEnumerable<string> args)
        {
            var psi = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add("-L");
            psi.ArgumentList.Add(server);
            foreach (var a in args) psi.ArgumentList.Add(a);
            psi.Environment["TERM"] = "xterm-256color";
            using var p = Process.Start(psi) ?? throw new InvalidOperationException("tmux did not start (scripts/setup.sh installs it)");
            var output = p.StandardOutput.ReadToEnd();
            var error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"tmux {string.Join(' ', args)}: exit {p.ExitCode}: {error}");
            return output;
        }

        public void Dispose()
        {
            try { Run(["kill-server"]); } catch (InvalidOperationException) { }
        }
    }
}
