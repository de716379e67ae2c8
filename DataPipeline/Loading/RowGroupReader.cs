using Orchestrator.DataPipeline.Corpus;
using Parquet;
using Parquet.Schema;

namespace Orchestrator.DataPipeline.Loading;

/// <summary>
/// Reads a split's row groups one at a time (never a whole file) and keeps the few the current window needs.
/// Shard footers are read once and their readers stay open while a window uses them.
/// </summary>
sealed class RowGroupReader(string corpusDir, CorpusManifest manifest, SplitInfo split, SplitLayout layout) : IAsyncDisposable
{
    readonly Dictionary<int, (FileStream Stream, ParquetReader Reader, DataField Field)> _open = [];
    readonly Dictionary<int, int[]> _cache = [];
    readonly int _rowTokens = manifest.BlockSize + 1;
    // Row groups are about 2 MB as ints: allocating one per read would churn the large-object heap (collected only
    // in gen 2) and inflate RSS, so evicted arrays are reused. Every row group but a split's last has the same size.
    readonly Stack<int[]> _free = new();
    ushort[] _narrow = [];

    /// <summary>Drops every cached row group and open shard not in <paramref name="keep"/>.</summary>
    public async ValueTask RetainAsync(int[] keep)
    {
        var rowGroups = new HashSet<int>(keep);
        var shards = rowGroups.Select(g => layout.Shard[g]).ToHashSet();
        foreach (var g in _cache.Keys.Where(g => !rowGroups.Contains(g)).ToList())
        {
            _free.Push(_cache[g]);
            _cache.Remove(g);
        }
        foreach (var s in _open.Keys.Where(s => !shards.Contains(s)).ToList())
        {
            await _open[s].Reader.DisposeAsync();
            await _open[s].Stream.DisposeAsync();
            _open.Remove(s);
        }
    }

    /// <summary>The tokens of global row group g (blocks x (B+1) ids).</summary>
    public async ValueTask<int[]> GetAsync(int g, CancellationToken ct)
    {
        if (_cache.TryGetValue(g, out var cached)) return cached;
        var (_, reader, field) = await OpenAsync(layout.Shard[g], ct);
        int local = layout.Local[g];
        var file = split.Shards[layout.Shard[g]].File;
        int n = layout.BlocksIn(g) * _rowTokens;
        var tokens = Rent(n);
        try
        {
            using var rg = reader.OpenRowGroupReader(local);
            if (rg.RowCount != n)
                throw new InvalidDataException($"corpus shard '{file}' row group {local} has {rg.RowCount} tokens, the manifest says {n}: prepare the corpus again");
            if (field.ClrType == typeof(ushort))
            {
                if (_narrow.Length < n) _narrow = new ushort[n];
                await rg.ReadAsync<ushort>(field, _narrow.AsMemory(0, n), cancellationToken: ct);
                for (int i = 0; i < n; i++) tokens[i] = _narrow[i];
            }
            else
            {
                await rg.ReadAsync<int>(field, tokens.AsMemory(0, n), cancellationToken: ct);
            }
        }
        catch (Exception e) when (e is not (InvalidDataException or OperationCanceledException))
        {
            throw new InvalidDataException($"corpus shard '{file}' row group {local} cannot be read ({e.Message}): the file is damaged; prepare the corpus again");
        }
        _cache[g] = tokens;
        return tokens;
    }

    int[] Rent(int n)
    {
        while (_free.TryPop(out var a))
            if (a.Length >= n) return a;
        return new int[layout.BlocksPerRowGroup * _rowTokens >= n ? layout.BlocksPerRowGroup * _rowTokens : n];
    }

    async ValueTask<(FileStream, ParquetReader, DataField)> OpenAsync(int shard, CancellationToken ct)
    {
        if (_open.TryGetValue(shard, out var o)) return o;
        var info = split.Shards[shard];
        var path = Path.Combine(corpusDir, info.File);
        if (!File.Exists(path))
            throw new FileNotFoundException($"corpus shard '{path}' listed in the manifest is missing: prepare the corpus again", path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            var reader = await ParquetReader.CreateAsync(stream, ParquetSettings.Reading(), cancellationToken: ct);
            var field = reader.Schema.DataFields.FirstOrDefault(f => f.Name == ShardedSplitWriter.Column)
                ?? throw new InvalidDataException($"corpus shard '{path}' has no '{ShardedSplitWriter.Column}' column");
            if (reader.RowGroupCount != info.RowGroups)
                throw new InvalidDataException($"corpus shard '{path}' has {reader.RowGroupCount} row groups, the manifest says {info.RowGroups}: prepare the corpus again");
            _open[shard] = (stream, reader, field);
            return (stream, reader, field);
        }
        catch (Exception e) when (e is not (InvalidDataException or OperationCanceledException))
        {
            await stream.DisposeAsync();
            throw new InvalidDataException($"corpus shard '{path}' is not a readable Parquet file ({e.Message}): prepare the corpus again");
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => RetainAsync([]);
}
