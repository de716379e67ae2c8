using Parquet;
using Parquet.Schema;

namespace Orchestrator.Tests.DataPipeline.Support;

/// <summary>Writes Parquet text files the way other tools do: a nullable string column among others, several row groups.</summary>
public static class ParquetFiles
{
    public static async Task WriteAsync(string path, IReadOnlyList<string?> texts, string column, CompressionMethod compression,
        int rowsPerGroup, bool dictionary = true)
    {
        var id = new DataField<int>("id");
        var text = new DataField<string>(column, true);
        var score = new DataField<double>("score");
        await using var file = File.Create(path);
        var options = new ParquetOptions { CompressionMethod = compression, DictionaryEncodingThreshold = dictionary ? 0.9 : 0 };
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(id, text, score), file, options);
        for (int start = 0; start < texts.Count; start += rowsPerGroup)
        {
            int n = Math.Min(rowsPerGroup, texts.Count - start);
            using var g = writer.CreateRowGroup();
            await g.WriteAsync<int>(id, Enumerable.Range(start, n).ToArray());
            await g.WriteAsync(text, texts.Skip(start).Take(n).ToArray());
            await g.WriteAsync<double>(score, Enumerable.Repeat(0.5, n).ToArray());
        }
    }
}
