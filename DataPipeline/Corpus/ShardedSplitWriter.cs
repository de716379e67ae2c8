using System.Security.Cryptography;
using Parquet;
using Parquet.Schema;

namespace Orchestrator.DataPipeline.Corpus;

/// <summary>
/// Writes one split's blocks into Parquet shards (see <see cref="CorpusManifest"/> for the layout). A shard is
/// written as NAME.tmp and renamed when complete; <see cref="WrittenFiles"/> lets the caller remove everything
/// if the prepare fails.
/// </summary>
sealed class ShardedSplitWriter(string dir, string split, string dtype, int rowTokens, int blocksPerRowGroup, int rowGroupsPerShard,
    CompressionMethod compression)
    : IAsyncDisposable
{
    public const string Column = "tokens";

    readonly int[] _rowGroup = new int[rowTokens * blocksPerRowGroup];
    readonly ushort[] _narrow = dtype == TokenDtype.UInt16 ? new ushort[rowTokens * blocksPerRowGroup] : [];
    readonly List<ShardInfo> _shards = [];
    readonly DataField _field = dtype == TokenDtype.UInt16 ? new DataField<ushort>(Column) : new DataField<int>(Column);
    int _blocksInRowGroup;
    FileStream? _stream;
    ParquetWriter? _writer;
    string? _tmpPath;
    long _shardBlocks;
    int _shardRowGroups;

    public long Blocks { get; private set; }
    public List<string> WrittenFiles { get; } = [];
    public IReadOnlyList<ShardInfo> Shards => _shards;
    public bool RowGroupFull => _blocksInRowGroup == blocksPerRowGroup;

    public static string ShardName(string split, int index) => $"{split}-{index:D5}.parquet";

    /// <summary>Copies one block (rowTokens ids) in; call <see cref="FlushIfFullAsync"/> after.</summary>
    public void Add(ReadOnlySpan<int> block)
    {
        block.CopyTo(_rowGroup.AsSpan(_blocksInRowGroup * rowTokens, rowTokens));
        _blocksInRowGroup++;
        Blocks++;
    }

    public async Task FlushIfFullAsync(CancellationToken ct)
    {
        if (RowGroupFull) await WriteRowGroupAsync(ct);
    }

    async Task WriteRowGroupAsync(CancellationToken ct)
    {
        if (_blocksInRowGroup == 0) return;
        if (_writer is null)
        {
            var name = ShardName(split, _shards.Count);
            _tmpPath = Path.Combine(dir, name + ".tmp");
            WrittenFiles.Add(_tmpPath);
            WrittenFiles.Add(Path.Combine(dir, name));
            _stream = new FileStream(_tmpPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
            _writer = await ParquetWriter.CreateAsync(new ParquetSchema(_field), _stream,
                ParquetSettings.Writing(compression), cancellationToken: ct);
            _writer.CustomMetadata = new Dictionary<string, string>
            {
                ["orch.split"] = split, ["orch.row_tokens"] = rowTokens.ToString(), ["orch.format"] = CorpusManifest.FormatName,
            };
        }
        int n = _blocksInRowGroup * rowTokens;
        using (var g = _writer.CreateRowGroup())
        {
            if (dtype == TokenDtype.UInt16)
            {
                for (int i = 0; i < n; i++) _narrow[i] = (ushort)_rowGroup[i];
                await g.WriteAsync<ushort>(_field, _narrow.AsMemory(0, n), cancellationToken: ct);
            }
            else
            {
                await g.WriteAsync<int>(_field, _rowGroup.AsMemory(0, n), cancellationToken: ct);
            }
        }
        _shardBlocks += _blocksInRowGroup;
        _shardRowGroups++;
        _blocksInRowGroup = 0;
        if (_shardRowGroups == rowGroupsPerShard) await CloseShardAsync(ct);
    }

    async Task CloseShardAsync(CancellationToken ct)
    {
        if (_writer is null) return;
        await _writer.DisposeAsync();
        _writer = null;
        await _stream!.FlushAsync(ct);
        _stream.Position = 0;
        var sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(_stream, ct));
        long bytes = _stream.Length;
        _stream.Flush(flushToDisk: true);
        await _stream.DisposeAsync();
        _stream = null;
        var name = ShardName(split, _shards.Count);
        File.Move(_tmpPath!, Path.Combine(dir, name), overwrite: false);
        _shards.Add(new ShardInfo(name, _shardBlocks, _shardRowGroups, bytes, sha));
        _shardBlocks = 0;
        _shardRowGroups = 0;
    }

    /// <summary>Writes the last (short) row group and closes the last shard.</summary>
    public async Task<SplitInfo> CompleteAsync(CancellationToken ct)
    {
        await WriteRowGroupAsync(ct);
        await CloseShardAsync(ct);
        return new SplitInfo(Blocks, blocksPerRowGroup, rowGroupsPerShard, _shards.ToArray());
    }

    public async ValueTask DisposeAsync()
    {
        if (_writer is not null) { try { await _writer.DisposeAsync(); } catch (Exception) { /* aborted write: the file is removed anyway */ } }
        if (_stream is not null) await _stream.DisposeAsync();
    }
}
