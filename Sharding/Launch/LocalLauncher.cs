using Orchestrator.Sharding.Interop;
using System.Diagnostics;

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
/// are killed: nothing is left running (the ranks are a <see cref="ProcessGroup"/>).
/// </summary>
public static class LocalLauncher
{
    /// <summary>The command line that re-runs this process (the apphost, or `dotnet app.dll`).</summary>
    public static (string FileName, List<string> Prefix) Self() => ProcessGroup.Self();

    /// <param name="stop">When cancelled, every live rank is sent SIGTERM (a graceful stop: they end on their own).</param>
    public static async Task<LaunchResult> RunAsync(LaunchSpec spec, Action<int, string, bool>? onLine = null, CancellationToken ct = default,
        CancellationToken stop = default)
    {
        if (spec.Processes < 1) throw new ArgumentException($"--nproc {spec.Processes}: need at least one process");
        var port = LocalPorts.FreePort();
        var procs = new Process[spec.Processes];
        onLine ??= (rank, line, err) => (err ? Console.Error : Console.Out).WriteLine($"[rank {rank}] {line}");
        await using var group = new ProcessGroup();
        try
        {
            for (var r = 0; r < spec.Processes; r++)
            {
                var env = new RankEnvironment(r, spec.Processes, r, "127.0.0.1", port, spec.Backend).ToVariables()
                    .ToDictionary(kv => kv.Key, kv => kv.Value);
                if (spec.Backend == "nccl") env["CUDA_VISIBLE_DEVICES"] = r.ToString();
                if (spec.Environment is not null) foreach (var (k, v) in spec.Environment) env[k] = v;
                var rank = r;
                procs[r] = group.Start($"rank {r}", spec.FileName, spec.Arguments, env, (line, err) => onLine(rank, line, err));
            }
            using var forward = stop.Register(() =>
            {
                foreach (var p in procs)
                    try { if (!p.HasExited) _ = PosixSignals.Terminate(p.Id); }
                    catch (InvalidOperationException) { }
            });
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
                    // After a forwarded stop the ranks end one by one; rank 0 may still be writing the checkpoint.
                    if (!stop.IsCancellationRequested && await Task.WhenAny(all, Task.Delay(spec.Grace, ct)) != all) group.KillAll();
                }
            }
            foreach (var p in procs) p.WaitForExit(); // drains the output callbacks
            return new LaunchResult(procs.Select(p => p.ExitCode).ToList(), firstFailed);
        }
        catch
        {
            group.KillAll();
            throw;
        }
    }

}
