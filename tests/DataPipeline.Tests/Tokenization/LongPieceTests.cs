using System.Diagnostics;
using System.Text;
using Orchestrator.DataPipeline.Tokenization;
using Orchestrator.DataPipeline.Tokenization.Bpe;
using Orchestrator.Tests.DataPipeline.Support;

namespace Orchestrator.Tests.DataPipeline.Tokenization;

/// <summary>
/// Tokenizing is linear in the text: a document without spaces is one regex match, and BPE on one piece costs about
/// the square of its length, so long pieces are cut before BPE (PreTokenizer.MaxPieceChars).
/// </summary>
public sealed class LongPieceTests
{
    static string Letters(int n, int seed)
    {
        var rng = new Random(seed);
        var chars = new char[n];
        for (int i = 0; i < n; i++) chars[i] = (char)('a' + rng.Next(26));
        return new string(chars);
    }

    [Fact]
    public void No_piece_is_longer_than_the_cap_and_every_char_is_kept()
    {
        string text = "short words stay whole " + Letters(10_000, 1) + " " + new string(' ', 5_000) + "x" + string.Concat(Enumerable.Repeat("🚀", 3_000));
        var pieces = PreTokenizer.Split(text);
        Assert.Equal(text, string.Concat(pieces));
        Assert.All(pieces, p => Assert.InRange(p.Length, 1, PreTokenizer.MaxPieceChars));
        Assert.All(pieces, p => Assert.False(char.IsHighSurrogate(p[^1]), "a slice ends inside a surrogate pair"));
        Assert.Equal(["short", " words", " stay", " whole"], pieces.Take(4));
    }

    [Fact]
    public void Ordinary_text_is_split_as_gpt2_splits_it()
    {
        var text = string.Join(' ', Corpora.RandomDocuments(50, 3)) + " it's 12345 --- \n\n end";
        var gpt2 = System.Text.RegularExpressions.Regex.Matches(text, PreTokenizer.Pattern).Select(m => m.Value);
        Assert.Equal(gpt2, PreTokenizer.Split(text));
    }

    /// <summary>The array-of-ranks merge loop gives exactly GPT-2's merge-all-occurrences loop.</summary>
    [Fact]
    public void Bpe_encoding_matches_the_textbook_merge_loop()
    {
        var trainer = new BpeTrainer();
        foreach (var d in Corpora.RandomDocuments(300, 5)) trainer.AddDocument(d);
        trainer.AddDocument("aaaaaaaaaaaaaaaaaaaaaaa abababababab the the the");
        var tok = trainer.Train(700);
        var text = string.Join(' ', Corpora.RandomDocuments(40, 6)) + " aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ababababab";
        var expected = new List<int>();
        foreach (var piece in PreTokenizer.Split(text)) expected.AddRange(Textbook(tok, Encoding.UTF8.GetBytes(piece)));
        Assert.Equal(expected, tok.Encode(text));
    }

    static List<int> Textbook(BpeTokenizer tok, byte[] bytes)
    {
        var rank = tok.Merges.Select((m, i) => (m, i)).ToDictionary(x => x.m, x => x.i);
        var s = bytes.Select(b => (int)b).ToList();
        while (true)
        {
            int best = int.MaxValue;
            for (int i = 0; i + 1 < s.Count; i++)
                if (rank.TryGetValue((s[i], s[i + 1]), out var r) && r < best) best = r;
            if (best == int.MaxValue) return s;
            var (l, rr) = tok.Merges[best];
            var merged = new List<int>();
            for (int i = 0; i < s.Count; i++)
                if (i + 1 < s.Count && s[i] == l && s[i + 1] == rr) { merged.Add(BpeTokenizer.FirstMergeId + best); i++; }
                else merged.Add(s[i]);
            s = merged;
        }
    }

    /// <summary>Before the cap, 2 MB of letters without a space took minutes with cl100k (80k chars: 8 s); now about 3 s.</summary>
    [Fact]
    public void A_2_MB_word_tokenizes_in_seconds_with_cl100k_and_round_trips()
    {
        var cl = Tokenizers.FromSpec("cl100k");
        var text = Letters(2_000_000, 2);
        var sw = Stopwatch.StartNew();
        var ids = cl.Encode(text);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(45), $"cl100k took {sw.Elapsed.TotalSeconds:F1} s for 2 MB");
        Assert.Equal(text, cl.Decode(ids));
        // Ordinary text (no long runs) is encoded exactly as one library call encodes it.
        Assert.Equal([15339, 1917], cl.Encode("hello world"));
    }

    [Fact]
    public void A_2_MB_word_tokenizes_in_seconds_with_our_bpe()
    {
        var trainer = new BpeTrainer();
        foreach (var d in Corpora.RandomDocuments(2_000, 7)) trainer.AddDocument(d);
        var tok = trainer.Train(2_000);
        var text = Letters(2_000_000, 3);
        var sw = Stopwatch.StartNew();
        var ids = tok.Encode(text);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(45), $"our BPE took {sw.Elapsed.TotalSeconds:F1} s for 2 MB");
        Assert.Equal(text, tok.Decode(ids));
    }
}
