using System.ComponentModel;
using System.Diagnostics;
using Orchestrator.Sharding.Interop;

namespace Orchestrator.Worker.Hosting;

/// <summary>
/// The NVIDIA MPS control daemon for `orch worker --mps`: several worker processes on one GPU then share one GPU
/// context server instead of time-slicing their own contexts. The pipe and log folders come from
/// CUDA_MPS_PIPE_DIRECTORY / CUDA_MPS_LOG_DIRECTORY or default to writable folders under the temp folder; both are
/// set in this process (natively, for libcuda) before CUDA starts. A daemon already listening on the pipe folder
/// (another worker started it) is used as it is; only a daemon this process started is stopped on
/// <see cref="Dispose"/> ("quit" lets its clients finish).
/// Risk: once a client uses a daemon, every CUDA process of that user on the GPU must go through it.
/// </summary>
public sealed class MpsDaemon : IDisposable
{
    const string Control = "nvidia-cuda-mps-control";
    readonly Dictionary<string, string> env;

    public string PipeDirectory { get; }
    public string LogDirectory { get; }
    /// <summary>True when this process started the daemon (and so stops it).</summary>
    public bool Started { get; }

    MpsDaemon(string pipe, string log, bool started)
    {
        PipeDirectory = pipe;
        LogDirectory = log;
        Started = started;
        env = new() { ["CUDA_MPS_PIPE_DIRECTORY"] = pipe, ["CUDA_MPS_LOG_DIRECTORY"] = log };
    }

    /// <summary>Starts the daemon (or finds the running one) and points this process's CUDA at it.</summary>
    public static MpsDaemon Start()
    {
        var root = Path.Combine(Path.GetTempPath(), $"orch-mps-{Environment.UserName}");
        var pipe = Environment.GetEnvironmentVariable("CUDA_MPS_PIPE_DIRECTORY") is { Length: > 0 } p ? p : Path.Combine(root, "pipe");
        var log = Environment.GetEnvironmentVariable("CUDA_MPS_LOG_DIRECTORY") is { Length: > 0 } l ? l : Path.Combine(root, "log");
        Directory.CreateDirectory(pipe);
        Directory.CreateDirectory(log);
        var daemon = new MpsDaemon(pipe, log, started: false);
        var (code, output) = daemon.RunControl(["-d"], stdin: null);
        bool running = File.Exists(Path.Combine(pipe, "control"));
        if (code != 0 && !running)
            throw new InvalidOperationException($"--mps: {Control} -d failed (exit {code}): {output.Trim()} (pipe folder {pipe}, log folder {log})");
        NativeEnvironment.Set("CUDA_MPS_PIPE_DIRECTORY", pipe);
        NativeEnvironment.Set("CUDA_MPS_LOG_DIRECTORY", log);
        return code == 0 ? new MpsDaemon(pipe, log, started: true) : daemon;
    }

    (int Code, string Output) RunControl(string[] args, string? stdin)
    {
        var psi = new ProcessStartInfo(Control) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        Process proc;
        try { proc = Process.Start(psi)!; }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"--mps: cannot run {Control} ({e.Message}); it ships with the NVIDIA driver and must be on PATH");
        }
        using (proc)
        {
            if (stdin is not null)
            {
                proc.StandardInput.Write(stdin);
                proc.StandardInput.Close();
            }
            var stdout = proc.StandardOutput.ReadToEndAsync();
            var stderr = proc.StandardError.ReadToEndAsync();
            if (!proc.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                proc.Kill();
                return (-1, $"{Control} did not finish in 30 s");
            }
            return (proc.ExitCode, stdout.Result + stderr.Result);
        }
    }

    public void Dispose()
    {
        if (Started) RunControl([], stdin: "quit\n");
    }
}
