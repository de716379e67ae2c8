namespace Orchestrator.DataPipeline.Loading;

/// <summary>
/// The global order of a split's blocks in one epoch, the same on every rank and at every world size:
/// row groups are shuffled with (seed, epoch); consecutive runs of <see cref="WindowRowGroups"/> shuffled row
/// groups form windows; the blocks of a window are shuffled with (seed, epoch, window). A reader therefore
/// holds one window (a few row groups) in memory while batches still mix text from far apart in the corpus.
/// </summary>
sealed class EpochOrder
{
    public const int WindowRowGroups = 8;

    readonly SplitLayout _layout;
    readonly int[] _rowGroupOrder;
    readonly long[] _windowStart; // first epoch position of each window, plus the total at the end
    readonly ulong _seed;
    readonly bool _shuffle;
    int _window = -1;
    int[] _windowPerm = [];
    int[] _windowRowGroupStart = []; // blocks before each row group inside the current window

    public EpochOrder(SplitLayout layout, int seed, int epoch, bool shuffle)
    {
        _layout = layout;
        _shuffle = shuffle;
        _seed = DeterministicShuffle.Mix(seed, epoch);
        _rowGroupOrder = DeterministicShuffle.Permutation(layout.RowGroups, _seed, shuffle);
        int windows = (layout.RowGroups + WindowRowGroups - 1) / WindowRowGroups;
        _windowStart = new long[windows + 1];
        for (int w = 0; w < windows; w++)
        {
            long blocks = 0;
            foreach (var g in RowGroupsOf(w)) blocks += layout.BlocksIn(g);
            _windowStart[w + 1] = _windowStart[w] + blocks;
        }
    }

    public long Blocks => _windowStart[^1];

    /// <summary>Global row groups of window w, in shuffled order.</summary>
    public ReadOnlySpan<int> RowGroupsOf(int w) =>
        _rowGroupOrder.AsSpan(w * WindowRowGroups, Math.Min(WindowRowGroups, _rowGroupOrder.Length - w * WindowRowGroups));

    public int WindowOf(long position)
    {
        int i = Array.BinarySearch(_windowStart, position);
        return i >= 0 ? i : ~i - 1;
    }

    /// <summary>The block at epoch position <paramref name="position"/>: (global row group, block inside it).</summary>
    public (int RowGroup, int Block) Locate(long position)
    {
        int w = WindowOf(position);
        if (w != _window) Enter(w);
        int j = _windowPerm[position - _windowStart[w]];
        var groups = RowGroupsOf(w);
        int k = Array.BinarySearch(_windowRowGroupStart, j);
        k = k >= 0 ? k : ~k - 1;
        while (k + 1 < groups.Length && _windowRowGroupStart[k + 1] == j) k++; // (no empty row groups, but be exact)
        return (groups[k], j - _windowRowGroupStart[k]);
    }

    void Enter(int w)
    {
        var groups = RowGroupsOf(w);
        _windowRowGroupStart = new int[groups.Length];
        int total = 0;
        for (int i = 0; i < groups.Length; i++) { _windowRowGroupStart[i] = total; total += _layout.BlocksIn(groups[i]); }
        _windowPerm = DeterministicShuffle.Permutation(total, DeterministicShuffle.Mix((long)_seed, w), _shuffle);
        _window = w;
    }
}
