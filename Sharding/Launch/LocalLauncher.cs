using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Orchestrator.Sharding.Launch;

/// <summary>What to start: one process per rank, each running <see cref="FileName"/> <see cref="Arguments"/>.</summary>
public sealed record LaunchSpec(string FileName, IReadOnlyList<string> Arguments, int Processes, string Backend = "ring")
{
    /// <summary>How long the other ranks get to fail on their own (their communicators notice) before they are killed.</summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(10);
    public IReadOnlyDictionary<string, string>? Environment { get; init; }
}

/// <summary>How each rank ended.</summary>
public sealed record LaunchResult(IReadOnlyList<int> ExitCodes, int FirstFailedRank)
{
    public bool Succeeded => FirstFailedRank < 0;
}

/// <summary>
/// `--nproc P` on one machine, like torchrun --standalone: P child processes with RANK, WORLD_SIZE, LOCAL_RANK,
/// MASTER_ADDR/PORT (a free loopback port; rank 0 hosts the rendezvous there) and ORCH_BACKEND; with NCCL each
/// child sees one GPU (CUDA_VISIBLE_DEVICES = its local rank). Output lines are prefixed "[rank r] " (or handed
/// to a callback). When a rank fails the others get <see cref="LaunchSpec.Grace"/> to fail by themselves, then
/// are killed: nothing is left running.
/// </summary>
public static class LocalLauncher
{
    public static int FreePort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    /// <summary>The command line that re-runs this process (the apphost, or `dotnet app.dll`).</summary>
    public static (string FileName, List<string> Prefix) Self()
    {
        var path = System.Environment.ProcessPath ?? throw new InvalidOperationException("cannot find this process' executable");
        var args = System.Environment.GetCommandLineArgs();
        var name = Path.GetFileNameWithoutExtension(path);
        return name == "dotnet" ? (path, [args[0]]) : (path, []);
    }

    public static async Task<LaunchResult> RunAsync(LaunchSpec spec, Action<int, string, bool>? onLine = null, CancellationToken ct = default)
    {
        if (spec.Processes < 1) throw new ArgumentException($"--nproc {spec.Processes}: need at least one process");
        var port = FreePort();
        var procs = new Process[spec.Processes];
        onLine ??= (rank, line, err) => (err ? Console.Error : Console.Out).WriteLine($"[rank {rank}] {line}");
        try
        {
            for (var r = 0; r < spec.Processes; r++)
            {
                var psi = new ProcessStartInfo(spec.FileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (var a in spec.Arguments) psi.ArgumentList.Add(a);
                var env = new RankEnvironment(r, spec.Processes, r, "127.0.0.1", port, spec.Backend);
                foreach (var (k, v) in env.ToVariables()) psi.Environment[k] = v;
                if (spec.Backend == "nccl") psi.Environment["CUDA_VISIBLE_DEVICES"] = r.ToString();
                if (spec.Environment is not null) foreach (var (k, v) in spec.Environment) psi.Environment[k] = v;
                var rank = r;
                var p = new Process { StartInfo = psi };
                p.OutputDataReceived += (_, e) => { if (e.Data is not null) onLine(rank, e.Data, false); };
                p.ErrorDataReceived += (_, e) => { if (e.Data is not null) onLine(rank, e.Data, true); };
                p.Start();
                p.BeginOutputReadLine();
                p.BeginErrorReadLine();
                procs[r] = p;
            }
            var exits = procs.Select(p => p.WaitForExitAsync(ct)).ToList();
            var firstFailed = -1;
            var remaining = new List<Task>(exits);
            while (remaining.Count > 0)
            {
                var done = await Task.WhenAny(remaining);
                remaining.Remove(done);
                await done;
                var idx = exits.IndexOf(done);
                if (procs[idx].ExitCode != 0 && firstFailed < 0)
                {
                    firstFailed = idx;
                    var all = Task.WhenAll(remaining);
                    if (await Task.WhenAny(all, Task.Delay(spec.Grace, ct)) != all) KillAll(procs);
                }
            }
            foreach (var p in procs) p.WaitForExit(); // drains the output callbacks
            return new LaunchResult(procs.Select(p => p.ExitCode).ToList(), firstFailed);
        }
        catch
        {
            KillAll(procs);
            throw;
        }
        finally
        {
            foreach (var p in procs) p?.Dispose();
        }
    }

    static void KillAll(Process?[] procs)
    {
        foreach (var p in procs)
            try { if (p is { HasExited: false }) p.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
    }
}
