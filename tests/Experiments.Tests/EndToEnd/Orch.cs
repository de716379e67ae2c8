using System.Diagnostics;
using System.Text;

namespace Orchestrator.Tests.Experiments.EndToEnd;

/// <summary>Runs the real `orch` (dotnet Orchestrator.Cli.dll, copied beside the tests) and captures its output.</summary>
sealed class Orch : IAsyncDisposable
{
    static string Dll => Path.Combine(AppContext.BaseDirectory, "Orchestrator.Cli.dll");
    /// <summary>ORCH_STATE_DIR of every process this test run starts: connection files and kept state stay out of the user's.</summary>
    static readonly string StateDir = Directory.CreateTempSubdirectory("orch-exp-state-").FullName;
    readonly Process process;
    readonly StringBuilder stdout = new(), stderr = new();
    readonly TaskCompletionSource<string> ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly string? readyMarker;

    Orch(Process p, string? marker)
    {
        process = p;
        readyMarker = marker;
    }

    public string Stdout { get { lock (stdout) return stdout.ToString(); } }
    public string Stderr { get { lock (stderr) return stderr.ToString(); } }

    public static Orch Start(string? readyMarker, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_TieredPGO"] = "0";
        psi.Environment["ORCH_STATE_DIR"] = StateDir;
        var orch = new Orch(new Process { StartInfo = psi }, readyMarker);
        orch.process.OutputDataReceived += (_, e) => orch.OnLine(orch.stdout, e.Data);
        orch.process.ErrorDataReceived += (_, e) => orch.OnLine(orch.stderr, e.Data);
        orch.process.Start();
        orch.process.BeginOutputReadLine();
        orch.process.BeginErrorReadLine();
        return orch;
    }

    void OnLine(StringBuilder sb, string? line)
    {
        if (line is null) return;
        lock (sb) sb.AppendLine(line);
        if (readyMarker is not null && line.Contains(readyMarker)) ready.TrySetResult(line);
    }

    /// <summary>Completes with the line holding the ready marker; fails if the process exits first (guard timeout, not a sleep).</summary>
    public async Task<string> ReadyAsync(TimeSpan timeout)
    {
        var first = await Task.WhenAny(ready.Task, process.WaitForExitAsync(), Task.Delay(timeout));
        if (first == ready.Task) return await ready.Task;
        throw new Xunit.Sdk.XunitException($"orch never printed '{readyMarker}'; stdout:\n{Stdout}\nstderr:\n{Stderr}");
    }

    /// <summary>Runs orch to completion: (exit code, stdout, stderr).</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(TimeSpan timeout, params string[] args)
    {
        await using var orch = Start(null, args);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await orch.process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"orch {string.Join(' ', args)} did not finish in {timeout}; stdout:\n{orch.Stdout}\nstderr:\n{orch.Stderr}");
        }
        return (orch.process.ExitCode, orch.Stdout, orch.Stderr);
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            // SIGINT-like stop is not available portably; orch local's children die with it (kill the tree).
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
    }
}
