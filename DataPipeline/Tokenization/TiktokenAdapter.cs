using Microsoft.ML.Tokenizers;

namespace Orchestrator.DataPipeline.Tokenization;

/// <summary>
/// cl100k_base and o200k_base from Microsoft.ML.Tokenizers; their data packages embed the vocabularies, so this
/// works offline. A special token written in a document (a literal "&lt;|endoftext|&gt;") is encoded as ordinary
/// text, as tiktoken's encode_ordinary does, so a document can never fake a document boundary.
///
/// Risk: the library's BPE slows down sharply with a pre-token's length (a 2 MB word without spaces took minutes),
/// so a pre-token longer than <see cref="Bpe.PreTokenizer.MaxPieceChars"/> is encoded in slices of that length, as
/// our BPE does. Text whose whitespace and non-whitespace runs are all short cannot hold such a pre-token (a
/// cl100k/o200k pre-token spans at most one extra character, one non-whitespace run and one whitespace run) and
/// is encoded in one call, exactly as before.
/// </summary>
public sealed class TiktokenAdapter : ITokenizer
{
    readonly TiktokenTokenizer _tok;

    TiktokenAdapter(string name, TiktokenTokenizer tok)
    {
        Name = name;
        _tok = tok;
        EndOfText = tok.SpecialTokens!["<|endoftext|>"];
        // Special tokens sit above the ranks: cl100k 100277 ids, o200k 200019.
        VocabSize = tok.SpecialTokens.Values.Max() + 1;
    }

    public static TiktokenAdapter Cl100k() => new("cl100k", TiktokenTokenizer.CreateForEncoding("cl100k_base"));
    public static TiktokenAdapter O200k() => new("o200k", TiktokenTokenizer.CreateForEncoding("o200k_base"));

    public string Name { get; }
    public int VocabSize { get; }
    public int EndOfText { get; }

    public void Encode(string text, List<int> ids)
    {
        // The library always matches special tokens. Every special token starts with "<|" followed by a letter,
        // and the pre-tokenizer always ends a piece between punctuation and a letter, so cutting the text right
        // after "<|" gives exactly the ordinary encoding while no segment holds a whole special token.
        int start = 0;
        for (int at = text.IndexOf("<|", StringComparison.Ordinal); at >= 0; at = text.IndexOf("<|", at + 2, StringComparison.Ordinal))
        {
            if (!StartsSpecial(text, at)) continue;
            EncodeSegment(text.AsSpan(start, at + 2 - start), ids);
            start = at + 2;
        }
        EncodeSegment(text.AsSpan(start), ids);
    }

    void EncodeSegment(ReadOnlySpan<char> text, List<int> ids)
    {
        const int max = Bpe.PreTokenizer.MaxPieceChars;
        if (LongestRun(text) <= (max - 1) / 2)
        {
            ids.AddRange(_tok.EncodeToIds(text, considerPreTokenization: true, considerNormalization: true));
            return;
        }
        // Encode the stretches of ordinary pre-tokens in one call each, and each long pre-token slice by slice.
        int plain = 0;
        var pieces = _tok.PreTokenizer!.PreTokenize(text).ToList();
        foreach (var (offset, length) in pieces)
        {
            if (length <= max) continue;
            if (offset > plain) ids.AddRange(_tok.EncodeToIds(text[plain..offset], considerPreTokenization: true, considerNormalization: true));
            var piece = text.Slice(offset, length).ToString();
            Bpe.PreTokenizer.Slice(piece, 0, length, max, (s, n) =>
                ids.AddRange(_tok.EncodeToIds(piece.AsSpan(s, n), considerPreTokenization: false, considerNormalization: true)));
            plain = offset + length;
        }
        if (plain < text.Length) ids.AddRange(_tok.EncodeToIds(text[plain..], considerPreTokenization: true, considerNormalization: true));
    }

    /// <summary>The longest run of whitespace or of non-whitespace characters.</summary>
    static int LongestRun(ReadOnlySpan<char> text)
    {
        int longest = 0, run = 0;
        bool inSpace = false;
        foreach (var c in text)
        {
            bool space = char.IsWhiteSpace(c);
            run = space == inSpace ? run + 1 : 1;
            inSpace = space;
            if (run > longest) longest = run;
        }
        return longest;
    }

    bool StartsSpecial(string text, int at)
    {
        foreach (var s in _tok.SpecialTokens!.Keys)
            if (string.CompareOrdinal(text, at, s, 0, s.Length) == 0) return true;
        return false;
    }

    public string Decode(ReadOnlySpan<int> ids) => _tok.Decode(ids.ToArray());
}
