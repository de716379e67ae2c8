namespace Orchestrator.DataPipeline.Tokenization.Bpe;

/// <summary>
/// Trains a byte-level BPE: count pre-tokenized pieces, then repeatedly merge the most frequent adjacent pair.
///
/// Cost: a max-heap of pair counts with lazy invalidation (an entry is stale when its count no longer matches
/// the table; the pair's new count was pushed when it changed), and an index pair -> words that hold it. A merge
/// rewrites only the words that hold the pair and updates only the pairs of those words, instead of recounting
/// every pair of the corpus per merge. Deterministic: ties go to the smaller (left, right) ids, and pieces are
/// numbered in ordinal order, never in hash order.
/// </summary>
public sealed class BpeTrainer
{
    /// <summary>Pieces and their counts, filled by <see cref="AddDocument"/> (thread-safe: one counter per caller thread).</summary>
    readonly ThreadLocal<Dictionary<string, long>> _counts = new(() => new(StringComparer.Ordinal), trackAllValues: true);

    public void AddDocument(string text)
    {
        var counts = _counts.Value!;
        PreTokenizer.ForEach(text, (start, length) =>
        {
            var piece = text.Substring(start, length);
            counts[piece] = counts.TryGetValue(piece, out var c) ? c + 1 : 1;
        });
    }

    /// <summary>
    /// Learns merges until the vocabulary has <paramref name="vocabSize"/> ids (bytes and end-of-text included),
    /// or no pair occurs twice. <paramref name="progress"/> gets (merges done, merges wanted).
    /// </summary>
    public BpeTokenizer Train(int vocabSize, Action<int, int>? progress = null, CancellationToken ct = default)
    {
        if (vocabSize < BpeTokenizer.FirstMergeId)
            throw new ArgumentException($"--vocab-size must be at least {BpeTokenizer.FirstMergeId} (256 bytes + end-of-text), got {vocabSize}");
        if (vocabSize > 1 << 20)
            throw new ArgumentException($"--vocab-size {vocabSize} is too large (at most {1 << 20})");
        var all = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var d in _counts.Values)
            foreach (var (k, v) in d) all[k] = all.TryGetValue(k, out var c) ? c + v : v;

        // Words: the distinct pieces as byte-id sequences, in ordinal order of the piece text.
        var pieces = all.Keys.ToArray();
        Array.Sort(pieces, StringComparer.Ordinal);
        var words = new int[pieces.Length][];
        var lengths = new int[pieces.Length];
        var freq = new long[pieces.Length];
        for (int w = 0; w < pieces.Length; w++)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(pieces[w]);
            words[w] = Array.ConvertAll(bytes, b => (int)b);
            lengths[w] = bytes.Length;
            freq[w] = all[pieces[w]];
        }

        var pairCount = new Dictionary<long, long>();
        var where = new Dictionary<long, List<int>>();
        for (int w = 0; w < words.Length; w++)
            for (int i = 0; i + 1 < lengths[w]; i++) AddPair(Key(words[w][i], words[w][i + 1]), w, freq[w]);

        // Max-heap on count, then min on the pair key: PriorityQueue is a min-heap, so order by (-count, key).
        var heap = new PriorityQueue<long, (long, long)>();
        foreach (var (k, c) in pairCount) heap.Enqueue(k, (-c, k));

        int wanted = vocabSize - BpeTokenizer.FirstMergeId;
        var merges = new List<(int, int)>(wanted);
        var stamp = new int[words.Length];
        var touched = new HashSet<long>();
        while (merges.Count < wanted && heap.TryDequeue(out var pair, out var prio))
        {
            ct.ThrowIfCancellationRequested();
            if (!pairCount.TryGetValue(pair, out var current) || current != -prio.Item1) continue; // stale entry
            if (current < 2) break;
            int left = (int)(pair >> 32), right = (int)(uint)pair, id = BpeTokenizer.FirstMergeId + merges.Count;
            merges.Add((left, right));
            touched.Clear();
            foreach (var w in where[pair])
            {
                if (stamp[w] == id) continue; // listed twice
                stamp[w] = id;
                var s = words[w];
                int n = lengths[w];
                bool has = false;
                for (int i = 0; i + 1 < n; i++) if (s[i] == left && s[i + 1] == right) { has = true; break; }
                if (!has) continue; // the pair left this word in an earlier merge
                for (int i = 0; i + 1 < n; i++) RemovePair(Key(s[i], s[i + 1]), freq[w], touched);
                int o = 0;
                for (int i = 0; i < n; i++)
                {
                    if (i + 1 < n && s[i] == left && s[i + 1] == right) { s[o++] = id; i++; }
                    else s[o++] = s[i];
                }
                lengths[w] = o;
                for (int i = 0; i + 1 < o; i++)
                {
                    var k = Key(s[i], s[i + 1]);
                    AddPair(k, w, freq[w]);
                    touched.Add(k);
                }
            }
            where.Remove(pair);
            pairCount.Remove(pair);
            foreach (var k in touched)
                if (k != pair && pairCount.TryGetValue(k, out var c) && c > 0) heap.Enqueue(k, (-c, k));
            progress?.Invoke(merges.Count, wanted);
        }
        return new BpeTokenizer(merges);

        void AddPair(long k, int w, long f)
        {
            pairCount[k] = pairCount.TryGetValue(k, out var c) ? c + f : f;
            if (!where.TryGetValue(k, out var list)) where[k] = list = [];
            if (list.Count == 0 || list[^1] != w) list.Add(w);
        }

        void RemovePair(long k, long f, HashSet<long> changed)
        {
            var c = pairCount[k] - f;
            if (c == 0) pairCount.Remove(k);
            else pairCount[k] = c;
            changed.Add(k);
        }
    }

    static long Key(int l, int r) => ((long)l << 32) | (uint)r;
}
