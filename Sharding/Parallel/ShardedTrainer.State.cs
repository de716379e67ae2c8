namespace Orchestrator.Sharding.Parallel;

// Where the optimizer state sits, for sharded checkpoints: pieces in global (unpadded) coordinates paired with
// their offset in this rank's optimizer region.
public sealed partial class ShardedTrainer
{
    /// <summary>What this rank writes: its 1/W partition of every stage (DDP ranks hold everything but write only that).</summary>
    public IReadOnlyList<(long GlobalStart, long Length, long RegionOffset)> SavePieces() =>
        Layout.Groups.Where(g => g.RealLength(Rank) > 0)
            .Select(g => (g.Offset + Rank * g.ShardLength, g.RealLength(Rank),
                Zero == 0 ? g.FullOffset + Rank * g.ShardLength : g.ShardOffset))
            .ToList();

    /// <summary>What this rank must read back: everything for DDP, its shard for ZeRO.</summary>
    public IReadOnlyList<(long GlobalStart, long Length, long RegionOffset)> LoadPieces() =>
        Zero == 0
            ? Layout.Groups.Where(g => g.Length > 0).Select(g => (g.Offset, g.Length, g.FullOffset)).ToList()
            : SavePieces();
}
