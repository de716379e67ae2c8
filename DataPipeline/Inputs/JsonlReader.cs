using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Orchestrator.DataPipeline.Inputs;

/// <summary>JSON Lines: one object per line, the text in a string field (`--text-column`, default `text`).</summary>
static class JsonlReader
{
    public static async IAsyncEnumerable<string?> ReadAsync(string path, ReadOptions options, [EnumeratorCancellation] CancellationToken ct)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: false);
        var buffer = new byte[1 << 16];
        int filled = 0;
        long lineNo = 0, offset = 0;
        while (true)
        {
            int read = await stream.ReadAsync(buffer.AsMemory(filled), ct);
            filled += read;
            int start = 0;
            while (true)
            {
                int nl = Array.IndexOf(buffer, (byte)'\n', start, filled - start);
                if (nl < 0) break;
                lineNo++;
                var doc = Parse(buffer.AsMemory(start, nl - start), path, lineNo, offset + start, options);
                if (!ReferenceEquals(doc, Skip)) yield return doc.Text;
                start = nl + 1;
            }
            offset += start;
            Array.Copy(buffer, start, buffer, 0, filled - start);
            filled -= start;
            if (read == 0)
            {
                if (filled > 0)
                {
                    lineNo++;
                    var doc = Parse(buffer.AsMemory(0, filled), path, lineNo, offset, options);
                    if (!ReferenceEquals(doc, Skip)) yield return doc.Text;
                }
                yield break;
            }
            if (filled == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2); // a line longer than the buffer
        }
    }

    sealed record Line(string? Text);
    static readonly Line Skip = new((string?)null);

    static Line Parse(ReadOnlyMemory<byte> raw, string path, long lineNo, long offset, ReadOptions options)
    {
        var span = raw.Span.TrimEnd((byte)'\r');
        if (span.Trim(" \t"u8).Length == 0) return Skip; // blank line: not a document
        var text = Utf8Text.Decode(span, $"{path}' line {lineNo} '", offset, options);
        JsonDocument json;
        try { json = JsonDocument.Parse(text); }
        catch (JsonException e) { throw new InvalidDataException($"'{path}' line {lineNo} is not JSON: {e.Message}"); }
        using (json)
        {
            if (json.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"'{path}' line {lineNo} is not a JSON object");
            if (!json.RootElement.TryGetProperty(options.TextColumn, out var field))
            {
                var names = string.Join(", ", json.RootElement.EnumerateObject().Select(p => p.Name));
                throw new InvalidDataException($"'{path}' line {lineNo} has no '{options.TextColumn}' field (it has: {names}): pass --text-column NAME");
            }
            return field.ValueKind switch
            {
                JsonValueKind.Null => new Line(null),
                JsonValueKind.String => new Line(field.GetString()),
                _ => throw new InvalidDataException($"'{path}' line {lineNo}: field '{options.TextColumn}' is {field.ValueKind}, not a string"),
            };
        }
    }
}
