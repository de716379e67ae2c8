using Orchestrator.DataPipeline.Corpus;
using Orchestrator.DataPipeline.Loading;
using Orchestrator.DataPipeline.Tokenization;

namespace Orchestrator.Tests.DataPipeline.Support;

/// <summary>Small corpora written through the real writer, with tiny row groups so they have many of them.</summary>
public static class Corpora
{
    /// <summary>Random lowercase documents: blocks are distinct, so a block's text identifies it.</summary>
    public static List<string> RandomDocuments(int count, int seed, int minLen = 5, int maxLen = 200)
    {
        var rng = new Random(seed);
        var docs = new List<string>();
        for (int i = 0; i < count; i++)
        {
            var chars = new char[rng.Next(minLen, maxLen)];
            for (int c = 0; c < chars.Length; c++) chars[c] = rng.Next(8) == 0 ? ' ' : (char)('a' + rng.Next(26));
            docs.Add(new string(chars));
        }
        return docs;
    }

    public static async Task<CorpusManifest> WriteAsync(string dir, IEnumerable<string> docs, ITokenizer tokenizer,
        int blockSize = 16, double valFraction = 0.1, int rowGroupTokens = 17 * 5, int rowGroupsPerShard = 3)
    {
        var options = new CorpusWriterOptions(blockSize, valFraction,
            TokenDtype.Choose("auto", tokenizer.VocabSize, tokenizer.Name), rowGroupTokens, rowGroupsPerShard);
        await using var writer = new CorpusWriter(dir, tokenizer, options);
        foreach (var d in docs) await writer.AddDocumentAsync(tokenizer.Encode(d));
        return await writer.CompleteAsync([new SourceInfo("test", "text", 0, 0)], 0);
    }

    /// <summary>Every block of a split in corpus order (full B+1 tokens), read back through the loader itself.</summary>
    public static List<long[]> BlocksInOrder(string dir, string split, int blockSize)
    {
        var m = CorpusManifest.Read(dir);
        var blocks = new List<long[]>();
        using var loader = TokenLoader.Open(new LoaderOptions(dir, split, 1, blockSize) { Shuffle = false });
        var x = new long[blockSize];
        var y = new long[blockSize];
        for (long i = 0; i < m.Split(split).Blocks; i++)
        {
            loader.NextBatch(x, y);
            blocks.Add([.. x, y[^1]]);
        }
        return blocks;
    }
}
