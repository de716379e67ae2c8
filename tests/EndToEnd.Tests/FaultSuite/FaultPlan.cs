namespace Orchestrator.Tests.EndToEnd.FaultSuite;

/// <summary>
/// The fault suite's one source of randomness: a seed (ORCH_FAULT_SEED, else a fixed default) from which each fault
/// kind draws its own stream, so the same seed replays the same faults (which worker, at which checkpoint, which
/// byte) whatever other kinds draw, and a failure names the seed that reproduces it.
/// Risk: a fault chosen from a seed is only reproducible as far as the cluster's timing is; the plan fixes what is
/// done and when in the run's own terms (checkpoint steps, ranks, offsets), never in wall-clock time.
/// </summary>
sealed class FaultPlan
{
    public const int DefaultSeed = 20261204;

    public int Seed { get; }

    FaultPlan(int seed) => Seed = seed;

    /// <summary>ORCH_FAULT_SEED when set (an integer), else <see cref="DefaultSeed"/>.</summary>
    public static FaultPlan FromEnvironment()
    {
        var s = Environment.GetEnvironmentVariable("ORCH_FAULT_SEED");
        if (string.IsNullOrWhiteSpace(s)) return new FaultPlan(DefaultSeed);
        return int.TryParse(s, out int seed) ? new FaultPlan(seed)
            : throw new ArgumentException($"ORCH_FAULT_SEED: '{s}' is not an integer");
    }

    /// <summary>The generator of one fault kind: the same for the same seed and kind.</summary>
    public Random For(string kind)
    {
        uint h = 2166136261; // FNV-1a: string.GetHashCode differs between processes
        foreach (char c in kind) h = (h ^ c) * 16777619;
        return new Random(Seed ^ (int)h);
    }

    /// <summary>
    /// SIGKILLs for <paramref name="runs"/> runs of <paramref name="checkpoints"/> checkpoints each: one or two per run,
    /// the first after checkpoint 1..3, a second (when drawn) two to four checkpoints later, never after
    /// checkpoint <paramref name="checkpoints"/> - 3 (the run is then certainly still training when it lands); the
    /// victim is the rank at that position (modulo the world size at the time).
    /// </summary>
    public IReadOnlyList<IReadOnlyList<PlannedKill>> WorkerKills(int runs, int checkpoints)
    {
        var rng = For("worker-sigkill");
        var plan = new List<IReadOnlyList<PlannedKill>>();
        for (int r = 0; r < runs; r++)
        {
            var kills = new List<PlannedKill> { new(1 + rng.Next(3), rng.Next(2)) };
            int second = kills[0].AfterCheckpoint + 2 + rng.Next(3);
            if (rng.Next(2) == 1 && second <= checkpoints - 3) kills.Add(new(second, rng.Next(2)));
            plan.Add(kills);
        }
        return plan;
    }
}

/// <param name="AfterCheckpoint">The kill follows the commit of this checkpoint (1 = the first) or the first one after it.</param>
/// <param name="Rank">Which rank of the run's current world dies (modulo its size).</param>
sealed record PlannedKill(int AfterCheckpoint, int Rank);
