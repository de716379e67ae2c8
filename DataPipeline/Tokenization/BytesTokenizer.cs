using System.Text;

namespace Orchestrator.DataPipeline.Tokenization;

/// <summary>
/// docs/CLI.md's `bytes` tokenizer: a document's tokens are its UTF-8 bytes (ids 0..255) plus one end-of-document
/// token, id 256. Vocabulary 257.
/// </summary>
public sealed class BytesTokenizer : ITokenizer
{
    public const int EndOfTextId = 256;
    public static readonly BytesTokenizer Instance = new();

    public string Name => "bytes";
    public int VocabSize => 257;
    public int EndOfText => EndOfTextId;

    public void Encode(string text, List<int> ids)
    {
        int max = Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rented = null;
        Span<byte> buf = max <= 4096 ? stackalloc byte[max] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(max));
        int n = Encoding.UTF8.GetBytes(text, buf);
        ids.EnsureCapacity(ids.Count + n);
        foreach (var b in buf[..n]) ids.Add(b);
        if (rented is not null) System.Buffers.ArrayPool<byte>.Shared.Return(rented);
    }

    public string Decode(ReadOnlySpan<int> ids)
    {
        var sb = new StringBuilder(ids.Length);
        var bytes = new List<byte>(ids.Length);
        foreach (var id in ids)
        {
            if (id is >= 0 and < 256) { bytes.Add((byte)id); continue; }
            Flush();
            sb.Append(id == EndOfTextId ? "<|endoftext|>" : "\uFFFD");
        }
        Flush();
        return sb.ToString();

        void Flush()
        {
            if (bytes.Count == 0) return;
            sb.Append(Encoding.UTF8.GetString(bytes.ToArray()));
            bytes.Clear();
        }
    }
}
