using Orchestrator.DataPipeline.Tokenization;

namespace Orchestrator.DataPipeline.Corpus;

/// <summary>
/// Turns tokenized documents into a corpus folder (format: <see cref="CorpusManifest"/>). Documents are appended
/// in order, each followed by end-of-text; blocks go to train or val shards as they fill; <see cref="CompleteAsync"/>
/// pads the last block and writes manifest.json last. Disposing without completing deletes every file written,
/// so a failed prepare leaves no corpus behind. Not thread-safe: one writer task feeds it.
///
/// Two splits: by block (one token stream, every 1/f-th block to val: even a single document gets a val split) or by
/// document (each document whole to train or val, every 1/f-th document, each split its own token stream: no
/// document is seen in both, which held-out evaluation of a code or web corpus needs).
/// </summary>
public sealed class CorpusWriter : IAsyncDisposable
{
    readonly string _dir;
    readonly ITokenizer _tokenizer;
    readonly CorpusWriterOptions _options;
    readonly int _rowTokens;
    readonly ShardedSplitWriter _train, _val;
    readonly BlockStream _stream, _valStream;
    long _blockIndex;
    bool _completed;

    public long Documents { get; private set; }

    /// <summary>What the reader filtered out before the writer (recorded in the manifest).</summary>
    public FilterCounts Filtered { get; set; } = new(0, 0, null);
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
        _train = new ShardedSplitWriter(dir, "train", options.TokenDtype, _rowTokens, options.BlocksPerRowGroup, options.RowGroupsPerShard, options.Compression);
        _val = new ShardedSplitWriter(dir, "val", options.TokenDtype, _rowTokens, options.BlocksPerRowGroup, options.RowGroupsPerShard, options.Compression);
        _stream = new BlockStream(_rowTokens);
        _valStream = new BlockStream(_rowTokens);
    }

    /// <summary>One token stream cut into blocks of B + 1 tokens with stride B.</summary>
    sealed class BlockStream(int rowTokens)
    {
        public int[] Pending = new int[Math.Max(rowTokens * 4, 1 << 16)];
        public int Count;

        public void Append(ReadOnlySpan<int> tokens)
        {
            if (Count + tokens.Length > Pending.Length)
                Array.Resize(ref Pending, Math.Max(Pending.Length * 2, Count + tokens.Length));
            tokens.CopyTo(Pending.AsSpan(Count));
            Count += tokens.Length;
        }
    }

    /// <summary>Appends one document's tokens and its end-of-text token.</summary>
    public async Task AddDocumentAsync(ReadOnlyMemory<int> tokens, CancellationToken ct = default)
    {
        // By document: this document's split, with the block rule applied to document indices.
        var stream = _options.SplitByDocument && _options.IsVal(Documents) ? _valStream : _stream;
        stream.Append(tokens.Span);
        stream.Append([_tokenizer.EndOfText]);
        Tokens += tokens.Length + 1;
        Documents++;
        await EmitFullBlocksAsync(stream, ct);
    }

    async Task EmitFullBlocksAsync(BlockStream stream, CancellationToken ct)
    {
        int start = 0;
        while (stream.Count - start >= _rowTokens)
        {
            await EmitAsync(stream, start, ct);
            start += _options.BlockSize; // stride B: the last token of a block is the first of the next
        }
        if (start > 0)
        {
            stream.Pending.AsSpan(start, stream.Count - start).CopyTo(stream.Pending);
            stream.Count -= start;
        }
    }

    async Task EmitAsync(BlockStream stream, int start, CancellationToken ct)
    {
        var w = _options.SplitByDocument ? (stream == _valStream ? _val : _train) : _options.IsVal(_blockIndex++) ? _val : _train;
        w.Add(stream.Pending.AsSpan(start, _rowTokens));
        await w.FlushIfFullAsync(ct);
    }

    /// <summary>Pads and writes the last block, closes the shards and writes manifest.json (last).</summary>
    public async Task<CorpusManifest> CompleteAsync(IReadOnlyList<SourceInfo> sources, long skippedDocuments,
        string? tokenizerFile = null, CancellationToken ct = default)
    {
        long padding = 0;
        foreach (var stream in new[] { _stream, _valStream })
        {
            if (stream.Count > 1)
            {
                int pad = _rowTokens - stream.Count;
                Array.Fill(stream.Pending, _tokenizer.EndOfText, stream.Count, pad);
                padding += pad;
                stream.Count = _rowTokens;
                await EmitAsync(stream, 0, ct);
            }
            stream.Count = 0;
        }
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
            SplitBy = _options.SplitByDocument ? "document" : "block",
            DuplicateDocuments = Filtered.Duplicates,
            OversizedDocuments = Filtered.Oversized,
            OversizedPolicy = Filtered.OversizedPolicy,
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

/// <summary>Documents dropped as exact duplicates, and documents over the size limit (split or skipped, as the policy says).</summary>
public sealed record FilterCounts(long Duplicates, long Oversized, string? OversizedPolicy);
