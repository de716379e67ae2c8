namespace Orchestrator.Contracts.Runs;

/// <summary>
/// The one home of a run's batch arithmetic across world sizes. With <see cref="RunSpec.GlobalBatch"/> set, every
/// optimizer step takes that many sequences whatever the world: grad_accum = global / (batch x world), so a run
/// that loses a worker keeps its batch (and its LR schedule's meaning) and trains exactly its planned tokens.
/// Invariant: a world size is only ever used when it divides the global batch; <see cref="WorldSizes"/> names the
/// ones that do, and the run grain never takes a number of workers outside them. Without a global batch the spec's
/// grad_accum holds and the tokens per step follow the world (the older per-rank meaning).
/// </summary>
public static class WorldBatch
{
    /// <summary>Micro-steps per optimizer step at <paramref name="world"/> ranks; null when that world cannot divide the global batch.</summary>
    public static int? GradAccumAt(RunSpec spec, int world)
    {
        if (spec.GlobalBatch is not int g) return spec.GradAccum;
        long perMicro = (long)spec.Batch * world;
        return world >= 1 && spec.Batch >= 1 && g % perMicro == 0 ? (int)(g / perMicro) : null;
    }

    /// <summary>Whether the run can train at <paramref name="world"/> ranks.</summary>
    public static bool Fits(RunSpec spec, int world) => world >= 1 && GradAccumAt(spec, world) is not null;

    /// <summary>The world sizes in <paramref name="min"/>..<paramref name="max"/> the run can train at.</summary>
    public static IReadOnlyList<int> WorldSizes(RunSpec spec, int min, int max) =>
        [.. Enumerable.Range(Math.Max(1, min), Math.Max(0, max - Math.Max(1, min) + 1)).Where(w => Fits(spec, w))];

    /// <summary>The largest world size in min..<paramref name="atMost"/> the run can train at (null: none).</summary>
    public static int? Largest(RunSpec spec, int atMost)
    {
        for (int w = Math.Min(atMost, spec.Workers.Max); w >= spec.Workers.Min; w--)
            if (Fits(spec, w)) return w;
        return null;
    }

    /// <summary>Sequences per optimizer step at <paramref name="world"/> ranks (the global batch when set).</summary>
    public static long SequencesPerStep(RunSpec spec, int world) =>
        spec.GlobalBatch ?? (long)spec.Batch * spec.GradAccum * world;

    /// <summary>Tokens per optimizer step at <paramref name="world"/> ranks.</summary>
    public static long TokensPerStep(RunSpec spec, int world) => SequencesPerStep(spec, world) * ModelShapes.Resolve(spec.Model).BlockSize;

    /// <summary>The problem with the spec's global batch, or null (checked before anything starts).</summary>
    public static string? Problem(RunSpec spec)
    {
        if (spec.GlobalBatch is not int g) return null;
        if (g < 1) return $"global_batch: {g} must be at least 1 (sequences per optimizer step over all ranks)";
        if (spec.GradAccum != 1) return $"global_batch and grad_accum: give one of them (grad_accum follows from global_batch / (batch x workers))";
        if (spec.Batch < 1 || spec.Workers.Min < 1 || spec.Workers.Max < spec.Workers.Min) return null; // reported on their own keys
        if (g % spec.Batch != 0) return $"global_batch: {g} is not a multiple of batch {spec.Batch}";
        var bad = new[] { spec.Workers.Min, spec.Workers.Max }.Distinct().Where(w => !Fits(spec, w)).ToList();
        if (bad.Count == 0) return null;
        var can = WorldSizes(spec, 1, Math.Min(g / spec.Batch, Limits.ResourceLimits.MaxWorkersPerRun));
        return $"global_batch: {g} = batch {spec.Batch} x grad_accum x workers cannot be kept at {string.Join(" or ", bad)} workers; " +
            $"world sizes that divide it: {string.Join(", ", can)} (set workers.min and workers.max to two of them)";
    }
}
