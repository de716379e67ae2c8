using System.Runtime.CompilerServices;
using Orchestrator.DataPipeline.Corpus;
using Parquet;
using Parquet.Schema;

namespace Orchestrator.DataPipeline.Inputs;

/// <summary>
/// The text column of a Parquet file written by any tool, one row group at a time (memory is one row group's
/// strings). Compression, dictionary encoding and nullability are the Parquet library's business; a binary
/// column without a string annotation is decoded as UTF-8 under the invalid-UTF-8 policy (string columns are
/// decoded by the library, which replaces invalid bytes).
/// </summary>
static class ParquetTextReader
{
    public static async IAsyncEnumerable<string?> ReadAsync(string path, ReadOptions options, [EnumeratorCancellation] CancellationToken ct)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        ParquetReader reader;
        try { reader = await ParquetReader.CreateAsync(stream, ParquetSettings.Reading(), cancellationToken: ct); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidDataException($"'{path}' is not a readable Parquet file ({e.Message}): is it truncated or another format?");
        }
        await using var _ = reader;
        var field = FindColumn(reader.Schema, options.TextColumn, path);
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            string?[] texts;
            try { texts = await ReadRowGroupAsync(reader, g, field, path, options, ct); }
            catch (Exception e) when (e is not (OperationCanceledException or InvalidDataException))
            {
                throw new InvalidDataException($"'{path}' row group {g} cannot be read ({e.Message}): the file is damaged or truncated");
            }
            foreach (var t in texts) yield return t;
        }
    }

    static DataField FindColumn(ParquetSchema schema, string name, string path)
    {
        var fields = schema.DataFields;
        var field = fields.FirstOrDefault(f => f.Name == name) ?? fields.FirstOrDefault(f => f.Path.ToString() == name);
        if (field is null)
            throw new InvalidDataException($"'{path}' has no column '{name}' (its columns: {string.Join(", ", fields.Select(f => f.Path.ToString()))}): pass --text-column NAME");
        if (field.IsArray)
            throw new InvalidDataException($"'{path}': column '{name}' is a list, not one text per row");
        if (!IsText(field) && !IsBinary(field))
            throw new InvalidDataException($"'{path}': column '{name}' holds {field.ClrType.Name}, not text: pass --text-column NAME of a string column");
        return field;
    }

    // Parquet.Net 6 reports UTF-8 columns as ReadOnlyMemory<char> unless asked for string; both read as strings.
    static bool IsText(DataField f) => f.ClrType == typeof(string) || f.ClrType == typeof(ReadOnlyMemory<char>);
    static bool IsBinary(DataField f) => f.ClrType == typeof(byte[]) || f.ClrType == typeof(ReadOnlyMemory<byte>);

    static async Task<string?[]> ReadRowGroupAsync(ParquetReader reader, int g, DataField field, string path, ReadOptions options, CancellationToken ct)
    {
        using var rg = reader.OpenRowGroupReader(g);
        var n = checked((int)rg.RowCount);
        if (IsText(field))
        {
            var texts = new string?[n];
            await rg.ReadAsync(field, texts.AsMemory(), null, ct);
            return texts;
        }
        var raw = new byte[]?[n];
        await rg.ReadAsync(field, raw.AsMemory(), null, ct);
        var result = new string?[n];
        for (int i = 0; i < n; i++)
            result[i] = raw[i] is not { } b ? null : Utf8Text.Decode(b, $"{path}' row group {g} row {i} '", 0, options);
        return result;
    }
}
