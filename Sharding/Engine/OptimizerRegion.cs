using Orchestrator.Sharding.Model;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Engine;

/// <summary>
/// The part of the flat layout this rank's optimizer owns, in the layout's coordinates: the whole padded full
/// vector when parameters and moments are replicated (world 1, DDP), this rank's shard of every group otherwise
/// (ZeRO-1/2/3). The one place that maps between full coordinates, the region and the global (checkpoint)
/// coordinates; everything that reads or writes optimizer state goes through it.
/// </summary>
public sealed class OptimizerRegion(FlatLayout layout, int rank, bool replicated)
{
    public FlatLayout Layout { get; } = layout;
    public int Rank { get; } = rank;
    public bool Replicated { get; } = replicated;

    /// <summary>Elements in the region: the padded total when replicated, the shard length otherwise.</summary>
    public long Length => Replicated ? Layout.PaddedTotal : Layout.ShardLength;

    /// <summary>Group by group: (group, first full index, length, first region index).</summary>
    public IEnumerable<(int Group, long FullStart, long Length, long RegionStart)> Spans() => Layout.Groups.Select(g => Replicated
        ? (g.Index, g.FullOffset, g.Padded, g.FullOffset)
        : (g.Index, g.FullOffset + Rank * g.ShardLength, g.ShardLength, g.ShardOffset));

    /// <summary>A full-coordinates vector's part that this region covers (the vector itself when replicated).</summary>
    public Tensor Of(Tensor full) => Replicated ? full : cat(Spans().Select(r => full.narrow(0, r.FullStart, r.Length)).ToList(), 0);

    /// <summary>
    /// The elements AdamW decays (those of 2-D weights, as nanoGPT groups them) as runs of the region, merged where
    /// they touch: read off the layout, so no mask tensor exists.
    /// </summary>
    public List<(long Offset, long Length)> DecayRuns()
    {
        var runs = new List<(long Offset, long Length)>();
        foreach (var (g, low, length, regionStart) in Spans())
        {
            foreach (var p in Layout.Params.Where(p => p.Group == g && p.Shape.Length >= 2).OrderBy(Layout.FullOffset))
            {
                long a = Math.Max(Layout.FullOffset(p), low), b = Math.Min(Layout.FullOffset(p) + p.Numel, low + length);
                if (b <= a) continue;
                long at = regionStart + a - low;
                if (runs.Count > 0 && runs[^1].Offset + runs[^1].Length == at) runs[^1] = (runs[^1].Offset, runs[^1].Length + b - a);
                else runs.Add((at, b - a));
            }
        }
        return runs;
    }

    /// <summary>What this rank writes to a checkpoint: its 1/W partition of every group (a replicated rank holds everything but writes only that).</summary>
    public IReadOnlyList<(long GlobalStart, long Length, long RegionOffset)> SavePieces() =>
        Layout.Groups.Where(g => g.RealLength(Rank) > 0)
            .Select(g => (g.Offset + Rank * g.ShardLength, g.RealLength(Rank),
                Replicated ? g.FullOffset + Rank * g.ShardLength : g.ShardOffset))
            .ToList();

    /// <summary>What this rank reads back from a checkpoint: everything when replicated, its shard otherwise.</summary>
    public IReadOnlyList<(long GlobalStart, long Length, long RegionOffset)> LoadPieces() =>
        Replicated
            ? Layout.Groups.Where(g => g.Length > 0).Select(g => (g.Offset, g.Length, g.FullOffset)).ToList()
            : SavePieces();
}
