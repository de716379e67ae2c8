using System.Text;
using Orchestrator.DataPipeline.Tokenization;
using Orchestrator.DataPipeline.Tokenization.Bpe;
using Orchestrator.Tests.DataPipeline.Support;

namespace Orchestrator.Tests.DataPipeline.Tokenization;

public sealed class BpeTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static readonly string[] Corpus =
    [
        "the cat sat on the mat. the cat ate the rat. that is that.",
        "There, the theatre's thermal theory: 1234 12345 123!!! ...",
        "naïve café déjà vu; 日本語 日本 東京; emoji 🚀🚀🚀 🎉",
        string.Join(' ', Corpora.RandomDocuments(40, 9)),
    ];

    static BpeTokenizer Train(int vocab)
    {
        var t = new BpeTrainer();
        foreach (var d in Corpus) t.AddDocument(d);
        return t.Train(vocab);
    }

    /// <summary>
    /// The textbook algorithm: recount every pair of every word before each merge, take the most frequent
    /// (ties: smallest (left, right)). The heap trainer must learn exactly these merges.
    /// </summary>
    static List<(int, int)> NaiveMerges(int vocab)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var d in Corpus)
            foreach (var p in PreTokenizerPieces(d)) counts[p] = counts.GetValueOrDefault(p) + 1;
        var words = counts.Select(kv => (Ids: Encoding.UTF8.GetBytes(kv.Key).Select(b => (int)b).ToList(), Count: kv.Value)).ToList();
        var merges = new List<(int, int)>();
        while (merges.Count < vocab - 257)
        {
            var pairs = new Dictionary<(int, int), long>();
            foreach (var (ids, c) in words)
                for (int i = 0; i + 1 < ids.Count; i++) pairs[(ids[i], ids[i + 1])] = pairs.GetValueOrDefault((ids[i], ids[i + 1])) + c;
            if (pairs.Count == 0) break;
            var best = pairs.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key.Item1).ThenBy(kv => kv.Key.Item2).First();
            if (best.Value < 2) break;
            int id = 257 + merges.Count;
            merges.Add(best.Key);
            foreach (var (ids, _) in words)
                for (int i = 0; i + 1 < ids.Count; i++)
                    if (ids[i] == best.Key.Item1 && ids[i + 1] == best.Key.Item2) { ids[i] = id; ids.RemoveAt(i + 1); }
        }
        return merges;
    }

    static IEnumerable<string> PreTokenizerPieces(string text) =>
        System.Text.RegularExpressions.Regex.Matches(text, @"'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+").Select(m => m.Value);

    [Fact]
    public void Heap_trainer_learns_the_same_merges_as_a_full_recount()
    {
        var fast = Train(600);
        var naive = NaiveMerges(600);
        Assert.Equal(naive, fast.Merges.Select(m => (m.Left, m.Right)).ToList());
        Assert.Equal(257 + naive.Count, fast.VocabSize);
    }

    [Fact]
    public void Training_is_deterministic_and_reaches_the_vocab_size()
    {
        var a = Train(400);
        var b = Train(400);
        Assert.Equal(400, a.VocabSize);
        Assert.Equal(a.Merges, b.Merges);
        a.Save(_dir["a.json"]);
        b.Save(_dir["b.json"]);
        Assert.Equal(File.ReadAllBytes(_dir["a.json"]), File.ReadAllBytes(_dir["b.json"]));
    }

    [Theory]
    [InlineData("")]
    [InlineData("the cat sat on the mat")]
    [InlineData("Text never seen: Zyzzyva quokka ×÷ ∑∫ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🧬 e\u0301 \u200d\u2028 \t\r\n  end")]
    [InlineData("<|endoftext|> is plain text inside a document")]
    public void Encode_decode_round_trips_any_utf8(string text)
    {
        var tok = Train(500);
        var ids = tok.Encode(text);
        Assert.Equal(text, tok.Decode(ids));
        Assert.DoesNotContain(BpeTokenizer.EndOfTextId, ids);
    }

    [Fact]
    public void Random_unicode_round_trips()
    {
        var tok = Train(500);
        var rng = new Random(4);
        for (int n = 0; n < 200; n++)
        {
            var sb = new StringBuilder();
            for (int i = 0; i < 50; i++)
            {
                int cp;
                do cp = rng.Next(4) == 0 ? rng.Next(0x20, 0x7F) : rng.Next(0, 0x10FFFF); while (cp is >= 0xD800 and <= 0xDFFF);
                sb.Append(char.ConvertFromUtf32(cp));
            }
            var s = sb.ToString();
            Assert.Equal(s, tok.Decode(tok.Encode(s)));
        }
    }

    [Fact]
    public void Saved_file_loads_to_the_same_tokenizer_and_documents_its_vocab()
    {
        var tok = Train(450);
        var path = _dir["tok.json"];
        tok.Save(path);
        var loaded = BpeTokenizer.Load(path);
        Assert.Equal(tok.Merges, loaded.Merges);
        var text = "the theatre's thermal cat";
        Assert.Equal(tok.Encode(text), loaded.Encode(text));
        var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path)).RootElement;
        Assert.Equal("orch-bpe", json.GetProperty("format").GetString());
        Assert.Equal(450, json.GetProperty("vocab_size").GetInt32());
        Assert.Equal(256, json.GetProperty("end_of_text").GetInt32());
        Assert.Equal(450, json.GetProperty("vocab").GetArrayLength());
        var m0 = tok.Merges[0];
        Assert.Equal(Convert.ToHexStringLower([.. tok.BytesOf(m0.Left), .. tok.BytesOf(m0.Right)]), json.GetProperty("vocab")[257].GetString());
        Assert.Throws<ArgumentException>(() => tok.Save(path)); // no silent overwrite
    }

    [Fact]
    public void Bad_files_and_sizes_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new BpeTrainer().Train(100));
        File.WriteAllText(_dir["x.json"], "{\"format\":\"something\"}");
        Assert.Throws<InvalidDataException>(() => BpeTokenizer.Load(_dir["x.json"]));
        File.WriteAllText(_dir["y.json"], "not json");
        Assert.Throws<InvalidDataException>(() => BpeTokenizer.Load(_dir["y.json"]));
        Assert.Throws<FileNotFoundException>(() => BpeTokenizer.Load(_dir["none.json"]));
    }

    [Fact]
    public async Task Training_run_reads_inputs_and_writes_the_file()
    {
        var folder = Directory.CreateDirectory(_dir["in"]).FullName;
        for (int i = 0; i < Corpus.Length; i++) File.WriteAllText(Path.Combine(folder, $"{i}.txt"), Corpus[i]);
        var r = await BpeTrainingRun.RunAsync([folder], 600, _dir["run.json"], force: false);
        Assert.Equal(Train(600).Merges, BpeTokenizer.Load(_dir["run.json"]).Merges);
        Assert.Equal(Corpus.Length, r.Documents);
        await Assert.ThrowsAsync<ArgumentException>(() => BpeTrainingRun.RunAsync([folder], 600, _dir["run.json"], force: false));
    }
}
