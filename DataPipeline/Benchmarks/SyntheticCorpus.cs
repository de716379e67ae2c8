using Orchestrator.DataPipeline.Corpus;
using Orchestrator.DataPipeline.Tokenization;

namespace Orchestrator.DataPipeline.Benchmarks;

/// <summary>
/// A generated corpus of uniformly random token ids (the worst case for compression) in documents of 100 to
/// 5,000 tokens, written through the real <see cref="CorpusWriter"/>: for loader benchmarks at any size.
/// </summary>
public static class SyntheticCorpus
{
    /// <summary>A stand-in tokenizer: GPT-2's vocabulary size, end-of-text 50256; it cannot encode text.</summary>
    sealed class RandomIds : ITokenizer
    {
        public string Name => "synthetic";
        public int VocabSize => 50257;
        public int EndOfText => 50256;
        public void Encode(string text, List<int> ids) => throw new NotSupportedException("the synthetic corpus has no text");
        public string Decode(ReadOnlySpan<int> ids) => string.Join(' ', ids.ToArray());
    }

    public static async Task<CorpusManifest> WriteAsync(string dir, long tokens, int blockSize = 1024, int seed = 1,
        Action<long>? progress = null, Parquet.CompressionMethod compression = Parquet.CompressionMethod.Zstd, CancellationToken ct = default)
    {
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
            throw new ArgumentException($"--out '{dir}' is not empty: choose a new folder");
        var tok = new RandomIds();
        await using var writer = new CorpusWriter(dir, tok, new CorpusWriterOptions(blockSize, 0.01, TokenDtype.UInt16) { Compression = compression });
        var rng = new Random(seed);
        var doc = new int[5000];
        while (writer.Tokens < tokens)
        {
            int n = rng.Next(100, doc.Length);
            for (int i = 0; i < n; i++) doc[i] = rng.Next(50256);
            await writer.AddDocumentAsync(doc.AsMemory(0, n), ct);
            if (writer.Documents % 4096 == 0) progress?.Invoke(writer.Tokens);
        }
        return await writer.CompleteAsync([new SourceInfo("synthetic", "random", writer.Documents, 0)], 0, ct: ct);
    }
}
