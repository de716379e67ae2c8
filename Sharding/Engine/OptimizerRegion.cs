using Orchestrator.Sharding.Model;
using Orchestrator.Sharding.Optim;
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
    /// The region's parameter groups as runs, merged where they touch with the same group: AdamW decays the elements
    /// of 2-D weights (nanoGPT's grouping) and each parameter's learning rate is multiplied by
    /// <paramref name="lrScale"/> of its name (μP; 1 when null). Read off the layout, so no mask tensor exists and a
    /// ZeRO shard gets exactly the pieces of each group it holds. Elements left out (1-D parameters at multiplier 1,
    /// padding) are plain.
    /// </summary>
    public List<UpdateRun> UpdateRuns(Func<string, double>? lrScale = null)
    {
        var runs = new List<UpdateRun>();
        foreach (var (g, low, length, regionStart) in Spans())
        {
            foreach (var p in Layout.Params.Where(p => p.Group == g).OrderBy(Layout.FullOffset))
            {
                bool decay = p.Shape.Length >= 2;
                double scale = lrScale?.Invoke(p.Name) ?? 1.0;
                if (!decay && scale == 1.0) continue;
                long a = Math.Max(Layout.FullOffset(p), low), b = Math.Min(Layout.FullOffset(p) + p.Numel, low + length);
                if (b <= a) continue;
                long at = regionStart + a - low;
                if (runs.Count > 0 && runs[^1].Offset + runs[^1].Length == at && runs[^1].Decay == decay && runs[^1].LrScale == scale)
                    runs[^1] = runs[^1] with { Length = runs[^1].Length + b - a };
                else runs.Add(new UpdateRun(at, b - a, decay, scale));
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
