using Orchestrator.DataPipeline.Tokenization;

namespace Orchestrator.DataPipeline.Corpus;

/// <summary>
/// Turns tokenized documents into a corpus folder (format: <see cref="CorpusManifest"/>). Documents are appended
/// in order, each followed by end-of-text; blocks go to train or val shards as they fill; <see cref="CompleteAsync"/>
/// pads the last block and writes manifest.json last. Disposing without completing deletes every file written,
/// so a failed prepare leaves no corpus behind. Not thread-safe: one writer task feeds it.
/// </summary>
public sealed class CorpusWriter : IAsyncDisposable
{
    readonly string _dir;
    readonly ITokenizer _tokenizer;
    readonly CorpusWriterOptions _options;
    readonly int _rowTokens;
    readonly ShardedSplitWriter _train, _val;
    int[] _pending;
    int _pendingCount;
    long _blockIndex;
    bool _completed;

    public long Documents { get; private set; }
    public long Tokens { get; private set; }

    public CorpusWriter(string dir, ITokenizer tokenizer, CorpusWriterOptions options)
    {
        options.Validate();
        if (options.TokenDtype == TokenDtype.UInt16 && tokenizer.VocabSize > 65536)
            throw new ArgumentException($"tokenizer '{tokenizer.Name}' has {tokenizer.VocabSize} token ids, too many for uint16 tokens: use int32");
        Directory.CreateDirectory(dir);
        _dir = dir;
        _tokenizer = tokenizer;
        _options = options;
        _rowTokens = options.BlockSize + 1;
        _pending = new int[Math.Max(_rowTokens * 4, 1 << 16)];
        _train = new ShardedSplitWriter(dir, "train", options.TokenDtype, _rowTokens, options.BlocksPerRowGroup, options.RowGroupsPerShard, options.Compression);
        _val = new ShardedSplitWriter(dir, "val", options.TokenDtype, _rowTokens, options.BlocksPerRowGroup, options.RowGroupsPerShard, options.Compression);
    }

    /// <summary>Appends one document's tokens and its end-of-text token.</summary>
    public async Task AddDocumentAsync(ReadOnlyMemory<int> tokens, CancellationToken ct = default)
    {
        Append(tokens.Span);
        Append([_tokenizer.EndOfText]);
        Documents++;
        await EmitFullBlocksAsync(ct);
    }

    void Append(ReadOnlySpan<int> tokens)
    {
        if (_pendingCount + tokens.Length > _pending.Length)
            Array.Resize(ref _pending, Math.Max(_pending.Length * 2, _pendingCount + tokens.Length));
        tokens.CopyTo(_pending.AsSpan(_pendingCount));
        _pendingCount += tokens.Length;
        Tokens += tokens.Length;
    }

    async Task EmitFullBlocksAsync(CancellationToken ct)
    {
        int start = 0;
        while (_pendingCount - start >= _rowTokens)
        {
            await EmitAsync(start, ct);
            start += _options.BlockSize; // stride B: the last token of a block is the first of the next
        }
        if (start > 0)
        {
            _pending.AsSpan(start, _pendingCount - start).CopyTo(_pending);
            _pendingCount -= start;
        }
    }

    async Task EmitAsync(int start, CancellationToken ct)
    {
        var w = _options.IsVal(_blockIndex++) ? _val : _train;
        w.Add(_pending.AsSpan(start, _rowTokens));
        await w.FlushIfFullAsync(ct);
    }

    /// <summary>Pads and writes the last block, closes the shards and writes manifest.json (last).</summary>
    public async Task<CorpusManifest> CompleteAsync(IReadOnlyList<SourceInfo> sources, long skippedDocuments,
        string? tokenizerFile = null, CancellationToken ct = default)
    {
        long padding = 0;
        if (_pendingCount > 1)
        {
            padding = _rowTokens - _pendingCount;
            Array.Fill(_pending, _tokenizer.EndOfText, _pendingCount, (int)padding);
            _pendingCount = _rowTokens;
            await EmitAsync(0, ct);
        }
        _pendingCount = 0;
        var train = await _train.CompleteAsync(ct);
        var val = await _val.CompleteAsync(ct);
        if (train.Blocks == 0)
            throw new InvalidDataException("the inputs hold no text to train on (every document was null or empty)");
        var manifest = new CorpusManifest
        {
            Tokenizer = _tokenizer.Name,
            TokenizerFile = tokenizerFile,
            VocabSize = _tokenizer.VocabSize,
            EndOfText = _tokenizer.EndOfText,
            TokenDtype = _options.TokenDtype,
            BlockSize = _options.BlockSize,
            ValFraction = _options.ValFraction,
            Documents = Documents,
            SkippedDocuments = skippedDocuments,
            Tokens = Tokens,
            PaddingTokens = padding,
            TrainTokens = train.Blocks * _options.BlockSize,
            ValTokens = val.Blocks * _options.BlockSize,
            Train = train,
            Val = val,
            Sources = sources,
            CreatedUtc = DateTime.UtcNow,
        };
        manifest.Write(_dir);
        _completed = true;
        return manifest;
    }

    public async ValueTask DisposeAsync()
    {
        await _train.DisposeAsync();
        await _val.DisposeAsync();
        if (_completed) return;
        foreach (var f in _train.WrittenFiles.Concat(_val.WrittenFiles).Append(Path.Combine(_dir, CorpusManifest.FileName + ".tmp")))
        {
            try { File.Delete(f); } catch (IOException) { /* best effort: no manifest means no corpus anyway */ }
        }
    }
}
