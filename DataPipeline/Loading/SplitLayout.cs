using Orchestrator.DataPipeline.Corpus;

namespace Orchestrator.DataPipeline.Loading;

/// <summary>
/// Where each row group of a split lives: row groups are numbered shard after shard, and every one holds
/// <see cref="SplitInfo.BlocksPerRowGroup"/> blocks except the split's last (the writer guarantees it).
/// </summary>
sealed class SplitLayout
{
    public SplitLayout(SplitInfo split)
    {
        BlocksPerRowGroup = split.BlocksPerRowGroup;
        Blocks = split.Blocks;
        int n = checked((int)split.RowGroups);
        Shard = new int[n];
        Local = new int[n];
        int g = 0;
        for (int s = 0; s < split.Shards.Count; s++)
            for (int i = 0; i < split.Shards[s].RowGroups; i++, g++) { Shard[g] = s; Local[g] = i; }
        long expected = n == 0 ? 0 : (long)(n - 1) * BlocksPerRowGroup + BlocksIn(n - 1);
        if (n > 0 && (BlocksIn(n - 1) <= 0 || expected != Blocks))
            throw new InvalidDataException($"manifest is inconsistent: {Blocks} blocks in {n} row groups of {BlocksPerRowGroup}");
    }

    public int BlocksPerRowGroup { get; }
    public long Blocks { get; }
    public int RowGroups => Shard.Length;
    /// <summary>Shard index of global row group g.</summary>
    public int[] Shard { get; }
    /// <summary>Row group index inside its shard.</summary>
    public int[] Local { get; }

    public int BlocksIn(int rowGroup) =>
        rowGroup < RowGroups - 1 ? BlocksPerRowGroup : (int)(Blocks - (long)(RowGroups - 1) * BlocksPerRowGroup);
}
