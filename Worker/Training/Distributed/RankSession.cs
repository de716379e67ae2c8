using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Launch;
using Orchestrator.Sharding.Ring;

namespace Orchestrator.Worker.Training.Distributed;

/// <summary>
/// What `orch train --nproc P --backend ring|nccl --zero Z` means for this process. In the process the user
/// started (no RANK in the environment) with P > 1, <see cref="MustLaunch"/> is true: <see cref="LaunchAsync"/>
/// starts P ranks of the same command (Sharding's <see cref="LocalLauncher"/>). In a rank (or with P = 1) it holds
/// the communicator (world 1 over a ring of one when there is no RANK) and supplies the trainer's rank, world size
/// and ZeRO stage.
/// </summary>
public sealed class RankSession : IDisposable
{
    readonly int _zero;

    public bool MustLaunch { get; private init; }
    public int Rank { get; private init; }
    public int WorldSize { get; private init; } = 1;
    public ICommunicator? Communicator { get; private init; }

    RankSession(int zero) => _zero = zero;

    public static RankSession Open(int nproc, string backend, int zero, string device)
    {
        if (nproc < 1) throw new ArgumentException($"--nproc {nproc}: need at least 1 process");
        if (zero is < 0 or > 3) throw new ArgumentException($"--zero {zero}: the ZeRO stage must be 0 (DDP), 1, 2 or 3");
        var cuda = device.StartsWith("cuda", StringComparison.Ordinal);
        if (backend == Rendezvous.Nccl && !cuda) throw new ArgumentException("--backend nccl needs --device cuda (NCCL moves GPU memory); use --backend ring on CPU");
        if (backend == Rendezvous.Ring && cuda && (nproc > 1 || RankEnvironment.Current is { WorldSize: > 1 }))
            throw new ArgumentException("--backend ring reduces CPU tensors; use --backend nccl with --device cuda");
        var env = RankEnvironment.Current;
        if (env is null && nproc > 1) return new RankSession(zero) { MustLaunch = true };
        var rank = env?.Rank ?? 0;
        var world = env?.WorldSize ?? 1;
        var comm = world == 1
            ? RingCommunicator.Connect(new Rendezvous(Rendezvous.Ring, 0, 1, ["-"], null))
            : CommunicatorFactory.CreateStandalone(env!.Backend, rank, world, env.Master);
        return new RankSession(zero) { Rank = rank, WorldSize = world, Communicator = comm };
    }

    /// <summary>The trainer's options for this rank.</summary>
    public TrainOptions Apply(TrainOptions o) => o with { Rank = Rank, WorldSize = WorldSize, Zero = _zero };

    /// <summary>
    /// Starts the ranks; rank 0's stdout is this command's stdout and rank 0's stderr its stderr (rank 0 speaks for
    /// the run); the other ranks print only warnings and errors (the rank itself leaves out its progress), which go to
    /// stderr prefixed by rank, an error line that another rank printed already shown once. With <paramref name="allRanks"/> every rank prints its progress and every stderr line
    /// is prefixed, rank 0's too.
    /// </summary>
    /// <param name="stop">When cancelled, every rank is sent SIGTERM (they agree on a step, checkpoint and end).</param>
    public static async Task<int> LaunchAsync(int nproc, string backend, bool allRanks, CancellationToken ct, CancellationToken stop = default)
    {
        var (file, prefix) = LocalLauncher.Self();
        var args = prefix.Concat(Environment.GetCommandLineArgs().Skip(1)).ToList();
        var errors = new HashSet<string>(StringComparer.Ordinal); // every rank refusing the same input says it once
        var result = await LocalLauncher.RunAsync(new LaunchSpec(file, args, nproc, backend), (rank, line, err) =>
        {
            if (rank == 0 && !err) { Console.Out.WriteLine(line); return; }
            if (!allRanks && line.StartsWith("error: ", StringComparison.Ordinal))
                lock (errors) if (!errors.Add(line)) return;
            if (rank == 0 && !allRanks) Console.Error.WriteLine(line);
            else Console.Error.WriteLine($"[rank {rank}] {line}");
        }, ct, stop);
        if (result.Succeeded) return 0;
        // Every rank stopped on the forwarded signal with a checkpoint: the run is resumable, not failed.
        if (stop.IsCancellationRequested && result.ExitCodes.All(c => c is 130 or 143)) return result.ExitCodes[0];
        Console.Error.WriteLine($"error: rank {result.FirstFailedRank} failed (exit {result.ExitCodes[result.FirstFailedRank]}); the other ranks were stopped");
        return result.ExitCodes[result.FirstFailedRank] == 2 ? 2 : 1;
    }

    public void Dispose() => Communicator?.Dispose();
}
