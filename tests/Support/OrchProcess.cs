using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Orchestrator.Tests.Support;

/// <summary>
/// The one harness every test project uses to run the real `orch` (dotnet Orchestrator.Cli.dll, copied beside the
/// tests): a long-running process (<see cref="Start"/>) whose output is captured line by line, so tests await the line
/// that marks an event instead of sleeping; a command run to its end (<see cref="RunAsync(string[])"/>, <see cref="Run(string[])"/>);
/// or the start info alone for tests that drive the process themselves (signals, stdin).
/// </summary>
public sealed class OrchProcess : IAsyncDisposable
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "Orchestrator.Cli.dll");

    /// <summary>
    /// ORCH_STATE_DIR of every process this test run starts (unless a test gives its own): `orch local` connection
    /// files and kept grain state stay out of the user's state folder and away from other test runs on the machine.
    /// </summary>
    public static readonly string StateDir = Directory.CreateTempSubdirectory("orch-test-state-").FullName;

    /// <summary>The token file a coordinator of cluster <paramref name="clusterId"/> started by this test run generated.</summary>
    public static string TokenFileOf(string clusterId) => Path.Combine(StateDir, "clusters", clusterId, "token");

    /// <summary>That token, for in-process clients.</summary>
    public static Orchestrator.Coordinator.Hosting.ClusterToken TokenOf(string clusterId) =>
        Orchestrator.Coordinator.Hosting.ClusterToken.ReadFile(TokenFileOf(clusterId), "the test cluster's token file");
    readonly Process process;
    readonly StringBuilder output = new();
    readonly StringBuilder stdout = new();
    readonly List<(Regex Pattern, Func<Match, bool> Accept, TaskCompletionSource<Match> Done)> waiters = [];
    readonly object gate = new();

    OrchProcess(Process p) => process = p;

    public int Id => process.Id;
    public bool HasExited => process.HasExited;
    public string Output { get { lock (gate) return output.ToString(); } }
    /// <summary>Standard output alone (a --json document), without the stderr lines <see cref="Output"/> interleaves.</summary>
    public string Stdout { get { lock (gate) return stdout.ToString(); } }

    /// <summary>How `orch ARGS` is started: output redirected, this test run's state folder, then <paramref name="env"/>
    /// (a null value removes the variable).</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args, IEnumerable<KeyValuePair<string, string?>>? env = null)
    {
        // Through env(1), which execs dotnet in its place (same pid): SIGINT and SIGQUIT back at their default, as from a
        // terminal. A test runner started in the background by a non-interactive shell ignores both, and the child
        // would inherit that and never see the Ctrl-C a test sends.
        var psi = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("--default-signal=INT,QUIT");
        psi.ArgumentList.Add("dotnet");
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_TieredPGO"] = "0";
        psi.Environment["ORCH_STATE_DIR"] = StateDir;
        foreach (var (k, v) in env ?? [])
            if (v is null) psi.Environment.Remove(k); else psi.Environment[k] = v;
        return psi;
    }

    /// <summary>As above, for `orch ARGS` with no extra environment.</summary>
    public static ProcessStartInfo StartInfo(params string[] args) => StartInfo(args, null);

    public static OrchProcess Start(IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        var p = new Process { StartInfo = StartInfo(args, env?.Select(e => new KeyValuePair<string, string?>(e.Key, e.Value))) };
        var orch = new OrchProcess(p);
        p.OutputDataReceived += (_, e) => orch.OnLine(e.Data, toStdout: true);
        p.ErrorDataReceived += (_, e) => orch.OnLine(e.Data, toStdout: false);
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return orch;
    }

    void OnLine(string? line, bool toStdout)
    {
        if (line is null) return;
        lock (gate)
        {
            output.AppendLine(line);
            if (toStdout) stdout.AppendLine(line);
            foreach (var w in waiters.ToList())
                if (w.Pattern.Match(line) is { Success: true } m && w.Accept(m)) { w.Done.TrySetResult(m); waiters.Remove(w); }
        }
    }

    /// <summary>Completes with the first line (already seen or to come) matching the pattern; fails after the guard timeout or if the process exits.</summary>
    public Task<Match> WaitForLineAsync(string pattern, TimeSpan? timeout = null) => WaitForLineAsync(pattern, _ => true, timeout);

    /// <summary>As above, for the first matching line whose match <paramref name="accept"/> takes (e.g. a step at least N).</summary>
    public async Task<Match> WaitForLineAsync(string pattern, Func<Match, bool> accept, TimeSpan? timeout = null)
    {
        var re = new Regex(pattern);
        TaskCompletionSource<Match> tcs;
        lock (gate)
        {
            foreach (var line in output.ToString().Split('\n'))
                if (re.Match(line.TrimEnd('\r')) is { Success: true } m && accept(m)) return m;
            tcs = new TaskCompletionSource<Match>(TaskCreationOptions.RunContinuationsAsynchronously);
            waiters.Add((re, accept, tcs));
        }
        var exited = process.WaitForExitAsync();
        var guard = Task.Delay(timeout ?? TimeSpan.FromSeconds(120));
        var first = await Task.WhenAny(tcs.Task, exited, guard);
        if (first == tcs.Task) return await tcs.Task;
        throw new Xunit.Sdk.XunitException($"no line matching /{pattern}/ ({(first == exited ? "process exited" : "timed out")}); output:\n{Tail(Output)}");
    }

    public void KillHard() { if (!process.HasExited) process.Kill(); } // SIGKILL on Linux

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cts.Token);
        return process.ExitCode;
    }

    /// <summary>Runs a short command to the end (90 s at most): exit code, stdout, stderr.</summary>
    public static Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args) => RunAsync(null, args);

    /// <summary>As above, with these environment variables set.</summary>
    public static Task<(int Exit, string Stdout, string Stderr)> RunAsync(IDictionary<string, string>? env, params string[] args) =>
        RunAsync(TimeSpan.FromSeconds(90), env, args);

    /// <summary>Runs a command to the end within <paramref name="timeout"/> (then kills it and throws with its output).</summary>
    public static Task<(int Exit, string Stdout, string Stderr)> RunAsync(TimeSpan timeout, params string[] args) => RunAsync(timeout, null, args);

    static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(TimeSpan timeout, IDictionary<string, string>? env, string[] args)
    {
        using var p = Process.Start(StartInfo(args, env?.Select(e => new KeyValuePair<string, string?>(e.Key, e.Value))))!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
            throw new TimeoutException($"orch {string.Join(' ', args)} did not finish in {timeout.TotalSeconds:0} s; stdout:\n{await stdout}\nstderr:\n{await stderr}");
        }
        return (p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs a command to the end on the calling thread (5 minutes at most): exit code, stdout, stderr.</summary>
    public static (int Exit, string Stdout, string Stderr) Run(params string[] args) => Run(null, args);

    /// <summary>As above, with these environment variables (a null value removes one).</summary>
    public static (int Exit, string Stdout, string Stderr) Run(IEnumerable<KeyValuePair<string, string?>>? env, params string[] args)
    {
        using var p = Process.Start(StartInfo(args, env))!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("orch " + string.Join(' ', args) + " did not finish in 5 minutes");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// The first and last lines of a long output (the cause of a crash is usually near the top, of a hang near the
    /// end). Orleans' own warnings (membership probes with whole stack traces) are left out of the tail and long lines
    /// cut, so the tail shows what the orchestrator did last.
    /// </summary>
    static string Tail(string s)
    {
        if (s.Length <= 8000) return s;
        var last = s.Split('\n').Where(l => !l.Contains(": Orleans.", StringComparison.Ordinal))
            .Select(l => l.Length > 400 ? l[..400] + "…" : l).TakeLast(60);
        return s[..3000] + "\n...\n" + string.Join('\n', last);
    }

    /// <summary>Where each long-running process's whole output is kept when ORCH_E2E_LOG_DIR is set (test.sh sets it),
    /// so a failure whose message shows only the head and tail can be read in full.</summary>
    static readonly string? LogDir = Environment.GetEnvironmentVariable("ORCH_E2E_LOG_DIR");

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        if (LogDir is not null)
        {
            Directory.CreateDirectory(LogDir);
            await File.WriteAllTextAsync(Path.Combine(LogDir, $"{DateTime.UtcNow:HHmmss}-{process.Id}.log"), Output);
        }
        process.Dispose();
    }
}
