using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Orchestrator.DataPipeline.Inputs;

namespace Orchestrator.DataPipeline.Prepare;

/// <summary>
/// What `data prepare` drops or cuts before tokenizing, in reading order (so the output is deterministic):
/// - exact duplicates: a document whose text has the SHA-256 of an earlier one's is dropped. The set of hashes holds
///   16 bytes per distinct document (about 40 with the set's overhead), never the text: memory grows with the
///   document count, not with the corpus;
/// - documents over <see cref="MaxBytes"/> UTF-8 bytes: split into pieces of at most that size, cut after a line end
///   where the piece has one, or skipped. A text file known to be over the limit is skipped without reading it.
/// </summary>
sealed class DocumentFilter
{
    /// <summary>The smallest size limit: below this, pieces would be shorter than a line of code.</summary>
    public const long MinMaxBytes = 1024;

    readonly HashSet<UInt128>? _seen;
    readonly bool _split;

    public long MaxBytes { get; }
    public long Duplicates { get; private set; }
    public long Oversized { get; private set; }
    public string? Policy => MaxBytes > 0 ? (_split ? "split" : "skip") : null;

    public DocumentFilter(bool dedupe, long maxBytes, string oversized)
    {
        if (maxBytes < 0 || (maxBytes > 0 && maxBytes < MinMaxBytes))
            throw new ArgumentException($"--max-doc-bytes {maxBytes}: give 0 (no limit) or at least {MinMaxBytes}");
        _split = oversized switch
        {
            "split" => true,
            "skip" => false,
            _ => throw new ArgumentException($"--oversized '{oversized}': use split or skip"),
        };
        _seen = dedupe ? [] : null;
        MaxBytes = maxBytes;
    }

    /// <summary>True (and counted) when a whole text file is over the limit and the policy is skip: it need not be read.</summary>
    public bool SkipsUnread(InputFile file)
    {
        if (MaxBytes == 0 || _split || file.Format != InputFormat.Text || file.Bytes <= MaxBytes + 3) return false; // + a BOM
        Oversized++;
        return true;
    }

    /// <summary>The pieces of <paramref name="text"/> to keep: none (a duplicate, or oversized and skipped), the text, or its pieces.</summary>
    public IEnumerable<string> Apply(string text)
    {
        if (_seen is not null && !_seen.Add(Hash(text)))
        {
            Duplicates++;
            return [];
        }
        if (MaxBytes == 0 || text.Length <= MaxBytes / 3 || Utf8Bytes(text) <= MaxBytes) return [text];
        Oversized++;
        return _split ? Split(text, MaxBytes) : [];
    }

    static UInt128 Hash(string text)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(MemoryMarshal.AsBytes(text.AsSpan()), digest);
        return MemoryMarshal.Read<UInt128>(digest);
    }

    static long Utf8Bytes(string text) => System.Text.Encoding.UTF8.GetByteCount(text);

    /// <summary>Pieces of at most <paramref name="maxBytes"/> UTF-8 bytes, each ending after its last line end when it has one; never inside a surrogate pair.</summary>
    public static List<string> Split(string text, long maxBytes)
    {
        var pieces = new List<string>();
        int start = 0;
        while (start < text.Length)
        {
            long bytes = 0;
            int i = start, lastNewline = -1;
            while (i < text.Length)
            {
                char c = text[i];
                int size = c < 0x80 ? 1 : c < 0x800 ? 2 : char.IsSurrogate(c) ? 2 : 3; // a surrogate pair is 4 bytes
                if (bytes + size > maxBytes) break;
                bytes += size;
                if (c == '\n') lastNewline = i;
                i++;
            }
            int end = i >= text.Length ? text.Length : lastNewline >= start ? lastNewline + 1 : i;
            if (end < text.Length && end - start > 1 && char.IsHighSurrogate(text[end - 1])) end--;
            pieces.Add(text[start..end]);
            start = end;
        }
        return pieces;
    }
}
