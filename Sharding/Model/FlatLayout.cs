using Orchestrator.Sharding.Checkpointing;

namespace Orchestrator.Sharding.Model;

/// <summary>A parameter's place in the global flat vector (stage order, no padding): what checkpoints record.</summary>
public sealed record ParamSlot(string Name, long[] Shape, long Offset, long Numel, int Group);

/// <summary>
/// One group (a stage) in three coordinate systems: global (unpadded, what checkpoints use), full (padded to a
/// multiple of the world size, what a gathered group occupies) and shard (this rank's 1/W of each group,
/// concatenated). Padding each group separately lets ZeRO-3 gather one group at a time.
/// </summary>
public sealed record GroupSlot(int Index, long Offset, long Length, long FullOffset, long Padded, long ShardLength, long ShardOffset)
{
    /// <summary>How many of rank r's <see cref="ShardLength"/> elements are real (not padding).</summary>
    public long RealLength(int rank) => Math.Clamp(Length - rank * ShardLength, 0, ShardLength);
}

/// <summary>The flat layout of a <see cref="StagedModel"/> partitioned over <see cref="World"/> ranks.</summary>
public sealed class FlatLayout
{
    public int World { get; }
    public IReadOnlyList<ParamSlot> Params { get; }
    public IReadOnlyList<GroupSlot> Groups { get; }
    public long Total { get; }
    public long PaddedTotal { get; }
    public long ShardLength { get; }

    public FlatLayout(IReadOnlyList<(string Name, long[] Shape, int Group)> parameters, int groups, int world)
    {
        if (world < 1) throw new ArgumentOutOfRangeException(nameof(world));
        World = world;
        var slots = new List<ParamSlot>();
        long off = 0;
        foreach (var (name, shape, g) in parameters)
        {
            var n = shape.Aggregate(1L, (a, b) => a * b);
            slots.Add(new ParamSlot(name, shape, off, n, g));
            off += n;
        }
        Params = slots;
        Total = off;
        var gs = new List<GroupSlot>();
        long full = 0, shard = 0;
        for (var g = 0; g < groups; g++)
        {
            var members = slots.Where(p => p.Group == g).ToList();
            var start = members.Count > 0 ? members[0].Offset : (gs.Count > 0 ? gs[^1].Offset + gs[^1].Length : 0);
            var len = members.Sum(p => p.Numel);
            var s = (len + world - 1) / world;
            gs.Add(new GroupSlot(g, start, len, full, s * world, s, shard));
            full += s * world;
            shard += s;
        }
        Groups = gs;
        PaddedTotal = full;
        ShardLength = shard;
    }

    public static FlatLayout Of(StagedModel model, int world) =>
        new(model.Parameters.Select(p => (p.Name, p.Parameter.shape, p.Stage)).ToList(), model.Stages.Count, world);

    public static FlatLayout Of(CheckpointManifest m, int world) =>
        new(m.Parameters.Select(p => (p.Name, p.Shape, p.Group)).ToList(), m.Groups, world);

    /// <summary>Rank r's real (unpadded) pieces in global coordinates, with where each sits in its shard.</summary>
    public IEnumerable<(long GlobalStart, long Length, long ShardOffset)> OwnedPieces(int rank)
    {
        foreach (var g in Groups)
        {
            var n = g.RealLength(rank);
            if (n > 0) yield return (g.Offset + rank * g.ShardLength, n, g.ShardOffset);
        }
    }

    /// <summary>Position of a parameter inside the full (padded) vector.</summary>
    public long FullOffset(ParamSlot p) => Groups[p.Group].FullOffset + (p.Offset - Groups[p.Group].Offset);
}
