using System.Diagnostics;

namespace Orchestrator.Tests.Worker;

/// <summary>Runs the real `orch` CLI (Orchestrator.Cli.dll next to the tests) as a child process.</summary>
static class OrchProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Orchestrator.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    public static Result Run(params string[] args)
    {
        using var p = Process.Start(StartInfo(args))!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("orch " + string.Join(' ', args) + " did not finish in 5 minutes");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
