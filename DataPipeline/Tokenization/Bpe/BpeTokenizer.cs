using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace Orchestrator.DataPipeline.Tokenization.Bpe;

/// <summary>
/// Our byte-level BPE (<see cref="BpeFile"/> format): pre-tokenize, turn each piece into its UTF-8 bytes, apply
/// merges by rank. Any UTF-8 text round-trips, because the 256 bytes are always in the vocabulary.
/// </summary>
public sealed class BpeTokenizer : ITokenizer
{
    public const int EndOfTextId = 256;
    public const int FirstMergeId = 257;

    readonly Dictionary<long, int> _rank = []; // (left, right) -> merge index
    readonly byte[][] _bytes;                  // id -> bytes
    readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    public BpeTokenizer(IReadOnlyList<(int Left, int Right)> merges)
    {
        _bytes = new byte[FirstMergeId + merges.Count][];
        for (int b = 0; b < 256; b++) _bytes[b] = [(byte)b];
        _bytes[EndOfTextId] = [];
        for (int i = 0; i < merges.Count; i++)
        {
            var (l, r) = merges[i];
            int id = FirstMergeId + i;
            if (l < 0 || r < 0 || l >= id || r >= id || l == EndOfTextId || r == EndOfTextId)
                throw new InvalidDataException($"BPE merge {i} ({l}, {r}) refers to an id that does not exist yet");
            if (!_rank.TryAdd(Key(l, r), i)) throw new InvalidDataException($"BPE merge {i} ({l}, {r}) is a duplicate");
            _bytes[id] = [.. _bytes[l], .. _bytes[r]];
        }
        Merges = merges;
    }

    public string Name => "bpe";
    public int VocabSize => _bytes.Length;
    public int EndOfText => EndOfTextId;
    public IReadOnlyList<(int Left, int Right)> Merges { get; }

    static long Key(int l, int r) => ((long)l << 32) | (uint)r;

    public static BpeTokenizer Load(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"BPE tokenizer file '{path}' does not exist: train one with `orch tokenizer train --out {path}`", path);
        BpeFile? f;
        try { f = JsonSerializer.Deserialize<BpeFile>(File.ReadAllText(path), BpeFile.Json); }
        catch (JsonException e) { throw new InvalidDataException($"'{path}' is not a BPE tokenizer file: {e.Message}"); }
        if (f is null || f.Format != BpeFile.FormatName || f.Version != 1)
            throw new InvalidDataException($"'{path}' is not an orch-bpe version 1 tokenizer file");
        if (f.Pattern != PreTokenizer.Pattern)
            throw new InvalidDataException($"'{path}' uses a pre-tokenizer pattern this build does not know");
        if (f.Merges.Any(m => m.Length != 2))
            throw new InvalidDataException($"'{path}': every merge must be a pair of ids");
        var tok = new BpeTokenizer(f.Merges.Select(m => (m[0], m[1])).ToArray());
        if (tok.VocabSize != f.VocabSize || f.EndOfText != EndOfTextId)
            throw new InvalidDataException($"'{path}': vocab_size {f.VocabSize} does not match its {f.Merges.Length} merges");
        return tok;
    }

    /// <summary>Writes the tokenizer file atomically (temp + rename); refuses to overwrite unless told.</summary>
    public void Save(string path, bool overwrite = false)
    {
        if (File.Exists(path) && !overwrite)
            throw new ArgumentException($"'{path}' already exists: choose another --out or pass --force");
        var file = new BpeFile
        {
            VocabSize = VocabSize,
            Merges = Merges.Select(m => new[] { m.Left, m.Right }).ToArray(),
            Vocab = _bytes.Select(b => Convert.ToHexStringLower(b)).ToArray(),
        };
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(file, BpeFile.Json));
        File.Move(tmp, path, overwrite);
    }

    public void Encode(string text, List<int> ids) => PreTokenizer.ForEach(text, (start, length) =>
    {
        var piece = text.Substring(start, length);
        if (!_cache.TryGetValue(piece, out var encoded))
        {
            encoded = EncodePiece(Encoding.UTF8.GetBytes(piece));
            if (_cache.Count < 1_000_000) _cache.TryAdd(piece, encoded);
        }
        ids.AddRange(encoded);
    });

    /// <summary>
    /// GPT-2's rule (merge the adjacent pair of lowest rank until none is mergeable) as tiktoken runs it: the pairs'
    /// ranks sit in an array, a merge updates only its two neighbours' ranks. Merging one occurrence at a time gives
    /// GPT-2's result, since a merge can only make pairs of higher rank than its own. O(n²) in the piece's bytes,
    /// which <see cref="PreTokenizer.MaxPieceChars"/> bounds.
    /// </summary>
    int[] EncodePiece(byte[] bytes)
    {
        int count = bytes.Length;
        var ids = new int[count];
        for (int i = 0; i < count; i++) ids[i] = bytes[i];
        if (count < 2) return ids;
        var ranks = new int[count - 1];
        for (int i = 0; i + 1 < count; i++) ranks[i] = Rank(ids[i], ids[i + 1]);
        while (count > 1)
        {
            int best = int.MaxValue, at = -1;
            for (int i = 0; i + 1 < count; i++)
                if (ranks[i] < best) { best = ranks[i]; at = i; }
            if (at < 0) break;
            ids[at] = FirstMergeId + best;
            Array.Copy(ids, at + 2, ids, at + 1, count - at - 2);
            if (count - at - 3 > 0) Array.Copy(ranks, at + 2, ranks, at + 1, count - at - 3);
            count--;
            if (at > 0) ranks[at - 1] = Rank(ids[at - 1], ids[at]);
            if (at + 1 < count) ranks[at] = Rank(ids[at], ids[at + 1]);
        }
        return ids.AsSpan(0, count).ToArray();
    }

    int Rank(int left, int right) => _rank.TryGetValue(Key(left, right), out var r) ? r : int.MaxValue;

    public string Decode(ReadOnlySpan<int> ids)
    {
        var sb = new StringBuilder();
        var buf = new List<byte>();
        foreach (var id in ids)
        {
            if (id == EndOfTextId || id < 0 || id >= _bytes.Length)
            {
                sb.Append(Encoding.UTF8.GetString(buf.ToArray()));
                buf.Clear();
                sb.Append(id == EndOfTextId ? "<|endoftext|>" : "\uFFFD");
                continue;
            }
            buf.AddRange(_bytes[id]);
        }
        sb.Append(Encoding.UTF8.GetString(buf.ToArray()));
        return sb.ToString();
    }

    /// <summary>The bytes of one id (empty for end-of-text).</summary>
    public ReadOnlySpan<byte> BytesOf(int id) => _bytes[id];
}
