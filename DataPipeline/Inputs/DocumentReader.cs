using System.Runtime.CompilerServices;

namespace Orchestrator.DataPipeline.Inputs;

/// <summary>
/// Streams the documents of input files in order: a text file is one document, a JSONL line one document,
/// a Parquet row one document, a Brown file one document (tags stripped). Null and empty texts come back as
/// null so the caller can count what it skipped.
/// </summary>
public static class DocumentReader
{
    public static IAsyncEnumerable<string?> ReadAsync(InputFile file, ReadOptions options, CancellationToken ct = default) =>
        file.Format switch
        {
            InputFormat.Text => ReadTextAsync(file.Path, options, brown: false, ct),
            InputFormat.Brown => ReadTextAsync(file.Path, options, brown: true, ct),
            InputFormat.Jsonl => JsonlReader.ReadAsync(file.Path, options, ct),
            InputFormat.Parquet => ParquetTextReader.ReadAsync(file.Path, options, ct),
            _ => throw new ArgumentOutOfRangeException(nameof(file)),
        };

    /// <summary>A text file is one document and is read whole; beyond this it must be split (or turned into JSONL).</summary>
    public const long MaxTextFileBytes = 1L << 30;

    static async IAsyncEnumerable<string?> ReadTextAsync(string path, ReadOptions options, bool brown, [EnumeratorCancellation] CancellationToken ct)
    {
        long length = new FileInfo(path).Length;
        if (length > MaxTextFileBytes)
            throw new InvalidDataException($"'{path}' is {length / 1e9:F1} GB: a text file is one document and must be under 1 GiB; split it into several files or use JSONL (one document per line)");
        var bytes = await File.ReadAllBytesAsync(path, ct);
        var text = Utf8Text.Decode(bytes, path, 0, options);
        if (brown) text = BrownCorpus.ToText(text);
        yield return text.Length == 0 ? null : text;
    }
}
