using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Orchestrator.Tests.EndToEnd;

/// <summary>
/// A real `orch` process (dotnet Orchestrator.Cli.dll ...) whose output is captured line by line; tests await the
/// line that marks an event instead of sleeping.
/// </summary>
public sealed class OrchProcess : IAsyncDisposable
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "Orchestrator.Cli.dll");

    /// <summary>
    /// ORCH_STATE_DIR of every process this test run starts (unless a test gives its own): `orch local` connection
    /// files and kept grain state stay out of the user's state folder and away from other test runs on the machine.
    /// </summary>
    public static readonly string StateDir = Directory.CreateTempSubdirectory("orch-e2e-state-").FullName;

    /// <summary>The token file a coordinator of cluster <paramref name="clusterId"/> started by this test run generated.</summary>
    public static string TokenFileOf(string clusterId) => Path.Combine(StateDir, "clusters", clusterId, "token");

    /// <summary>That token, for in-process clients.</summary>
    public static Orchestrator.Coordinator.Hosting.ClusterToken TokenOf(string clusterId) =>
        Orchestrator.Coordinator.Hosting.ClusterToken.ReadFile(TokenFileOf(clusterId), "the test cluster's token file");
    readonly Process process;
    readonly StringBuilder output = new();
    readonly List<(Regex Pattern, TaskCompletionSource<Match> Done)> waiters = [];
    readonly object gate = new();

    OrchProcess(Process p) => process = p;

    public int Id => process.Id;
    public bool HasExited => process.HasExited;
    public string Output { get { lock (gate) return output.ToString(); } }

    public static OrchProcess Start(IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_TieredPGO"] = "0";
        psi.Environment["ORCH_STATE_DIR"] = StateDir;
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        var p = new Process { StartInfo = psi };
        var orch = new OrchProcess(p);
        p.OutputDataReceived += (_, e) => orch.OnLine(e.Data);
        p.ErrorDataReceived += (_, e) => orch.OnLine(e.Data);
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return orch;
    }

    void OnLine(string? line)
    {
        if (line is null) return;
        lock (gate)
        {
            output.AppendLine(line);
            foreach (var w in waiters.ToList())
                if (w.Pattern.Match(line) is { Success: true } m) { w.Done.TrySetResult(m); waiters.Remove(w); }
        }
    }

    /// <summary>Completes with the first line (already seen or to come) matching the pattern; fails after the guard timeout or if the process exits.</summary>
    public async Task<Match> WaitForLineAsync(string pattern, TimeSpan? timeout = null)
    {
        var re = new Regex(pattern);
        TaskCompletionSource<Match> tcs;
        lock (gate)
        {
            foreach (var line in output.ToString().Split('\n'))
                if (re.Match(line.TrimEnd('\r')) is { Success: true } m) return m;
            tcs = new TaskCompletionSource<Match>(TaskCreationOptions.RunContinuationsAsynchronously);
            waiters.Add((re, tcs));
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

    /// <summary>Runs a short command to the end: exit code, stdout, stderr.</summary>
    public static Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args) => RunAsync(null, args);

    /// <summary>As above, with these environment variables set.</summary>
    public static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(IDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["ORCH_STATE_DIR"] = StateDir;
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout, await stderr);
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
