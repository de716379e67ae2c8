namespace Orchestrator.DataPipeline.Corpus;

/// <summary>How a corpus is cut and laid out.</summary>
/// <param name="BlockSize">Sequence length B (each stored block has B + 1 tokens).</param>
/// <param name="ValFraction">Share of blocks (or documents, with <see cref="SplitByDocument"/>) that go to val, 0 &lt;= f &lt; 1.</param>
/// <param name="TokenDtype">uint16 or int32 (see <see cref="Corpus.TokenDtype.Choose"/>).</param>
/// <param name="RowGroupTokens">Target tokens per row group (the loader's unit of reading): about 512 Ki.</param>
/// <param name="RowGroupsPerShard">Row groups per shard file: 64 x 512 Ki tokens = 32 Mi tokens a shard.</param>
public sealed record CorpusWriterOptions(
    int BlockSize = 1024, double ValFraction = 0.1, string TokenDtype = Corpus.TokenDtype.UInt16,
    int RowGroupTokens = 1 << 19, int RowGroupsPerShard = 64)
{
    /// <summary>Shard compression. Parquet has no 16-bit physical type (uint16 is INT32 + annotation), so zstd
    /// matters: it removes the zero high bytes that snappy keeps (4 bytes a token become about 2.5).</summary>
    public Parquet.CompressionMethod Compression { get; init; } = Parquet.CompressionMethod.Zstd;

    /// <summary>Split by document (every 1/f-th document to val, whole) instead of by block (every 1/f-th block).</summary>
    public bool SplitByDocument { get; init; }

    public int BlocksPerRowGroup => Math.Max(1, RowGroupTokens / (BlockSize + 1));

    public void Validate()
    {
        if (BlockSize < 1) throw new ArgumentException($"--block-size must be at least 1 (got {BlockSize})");
        if (!(ValFraction >= 0 && ValFraction < 1)) throw new ArgumentException($"--val-fraction must be in [0, 1) (got {ValFraction})");
        if (RowGroupTokens < 1 || RowGroupsPerShard < 1) throw new ArgumentException("row group and shard sizes must be positive");
        if (TokenDtype is not (Corpus.TokenDtype.UInt16 or Corpus.TokenDtype.Int32)) throw new ArgumentException($"unknown token dtype '{TokenDtype}'");
    }

    /// <summary>Whether block k of the stream goes to val: evenly spread, exactly floor(n*f) of the first n blocks.</summary>
    public bool IsVal(long k) => ValFraction > 0 && Math.Floor((k + 1) * ValFraction) > Math.Floor(k * ValFraction);
}
