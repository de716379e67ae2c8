using System.Diagnostics;
using System.Globalization;
using Orchestrator.Sharding.Launch;

namespace Orchestrator.Tests.Sharding.Support;

/// <summary>Starts real rank processes (tests/Sharding.RankHost) with the torchrun variables and collects their output.</summary>
static class Ranks
{
    static string HostDll => Path.Combine(AppContext.BaseDirectory, "Orchestrator.Sharding.RankHost.dll");

    public sealed record Outcome(int[] ExitCodes, string[] Stdout, string[] Stderr)
    {
        /// <summary>Rank 0's "step n loss x" lines as step -> loss.</summary>
        public SortedDictionary<int, float> Losses()
        {
            var d = new SortedDictionary<int, float>();
            foreach (var line in Stdout[0].Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var p = line.Split(' ');
                if (p.Length == 4 && p[0] == "step") d[int.Parse(p[1])] = float.Parse(p[3], CultureInfo.InvariantCulture);
            }
            return d;
        }

        public void EnsureSucceeded()
        {
            if (ExitCodes.Any(c => c != 0))
                throw new Xunit.Sdk.XunitException("ranks failed: " + string.Join(" | ", ExitCodes.Select((c, r) => $"rank {r} exit {c}: {Stderr[r].Trim()}")));
        }
    }

    public static Process[] Start(int world, params string[] args)
    {
        var port = LocalPorts.FreePort();
        return Enumerable.Range(0, world).Select(r =>
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(HostDll);
            foreach (var a in args) psi.ArgumentList.Add(a);
            foreach (var (k, v) in new RankEnvironment(r, world, r, "127.0.0.1", port, "ring").ToVariables()) psi.Environment[k] = v;
            return Process.Start(psi)!;
        }).ToArray();
    }

    public static Outcome Run(int world, params string[] args)
    {
        var procs = Start(world, args);
        try
        {
            var outs = procs.Select(p => p.StandardOutput.ReadToEndAsync()).ToArray();
            var errs = procs.Select(p => p.StandardError.ReadToEndAsync()).ToArray();
            foreach (var p in procs)
                if (!p.WaitForExit(TimeSpan.FromSeconds(120))) throw new TimeoutException("a rank did not finish in 120 s");
            return new Outcome(procs.Select(p => p.ExitCode).ToArray(), outs.Select(t => t.Result).ToArray(), errs.Select(t => t.Result).ToArray());
        }
        finally
        {
            foreach (var p in procs) { if (!p.HasExited) p.Kill(); p.Dispose(); }
        }
    }
}
