using Orchestrator.DataPipeline.Prepare;
using Orchestrator.Tests.DataPipeline.Support;
using Parquet;

namespace Orchestrator.Tests.DataPipeline.Prepare;

/// <summary>Parquet inputs (nulls, empty strings, row groups, compressions, another column name) give the same tokens as text.</summary>
public sealed class ParquetInputTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static List<string?> Texts()
    {
        var docs = Corpora.RandomDocuments(30, seed: 11).Cast<string?>().ToList();
        docs.Insert(3, null);
        docs.Insert(7, "");
        docs.Insert(12, null);
        docs.Add("déjà vu — 東京 🚀");
        docs.Add(new string('z', 300_000)); // a large string
        // Repeats make the writer choose dictionary encoding for the column.
        return [.. docs, .. docs.Take(10), .. docs.Take(10)];
    }

    async Task<List<int>> PrepareStream(string input, string name, string column = "text", string tokenizer = "bytes")
    {
        var outDir = _dir["out-" + name];
        var r = await CorpusPreparer.PrepareAsync(new PrepareOptions
        {
            Inputs = [input], OutDir = outDir, Tokenizer = tokenizer, TextColumn = column, BlockSize = 64, ValFraction = 0.1,
            RowGroupTokens = 65 * 50,
        });
        Assert.Equal(Texts().Count(string.IsNullOrEmpty), r.Manifest.SkippedDocuments);
        return CorpusStream.Read(outDir);
    }

    async Task<List<int>> AsText()
    {
        var folder = Directory.CreateDirectory(_dir["txt"]).FullName;
        var texts = Texts();
        for (int i = 0; i < texts.Count; i++) File.WriteAllText(Path.Combine(folder, $"{i:D3}.txt"), texts[i] ?? "");
        return await PrepareStream(folder, "txt");
    }

    [Theory]
    [InlineData(CompressionMethod.Snappy, "text", 7)]
    [InlineData(CompressionMethod.Zstd, "body", 5)]
    [InlineData(CompressionMethod.Gzip, "content", 100)]
    [InlineData(CompressionMethod.None, "text", 1)]
    [InlineData(CompressionMethod.Brotli, "text", 13)]
    [InlineData(CompressionMethod.LZ4, "text", 9)]
    public async Task Parquet_gives_the_same_tokens_as_text(CompressionMethod compression, string column, int rowsPerGroup)
    {
        var path = _dir[$"in-{compression}.parquet"];
        await ParquetFiles.WriteAsync(path, Texts(), column, compression, rowsPerGroup);
        var fromParquet = await PrepareStream(path, compression.ToString(), column);
        Assert.Equal(await AsText(), fromParquet);
    }

    [Fact]
    public async Task Jsonl_gives_the_same_tokens_as_text()
    {
        var path = _dir["in.jsonl"];
        await File.WriteAllLinesAsync(path, Texts().Select(t => System.Text.Json.JsonSerializer.Serialize(new { id = 1, text = t })));
        Assert.Equal(await AsText(), await PrepareStream(path, "jsonl"));
    }

    [Fact]
    public async Task Parquet_without_dictionary_encoding_matches_text()
    {
        var path = _dir["plain.parquet"];
        await ParquetFiles.WriteAsync(path, Texts(), "text", CompressionMethod.Snappy, 8, dictionary: false);
        Assert.Equal(await AsText(), await PrepareStream(path, "plain"));
    }
}
