using Microsoft.ML.Tokenizers;

namespace Orchestrator.DataPipeline.Tokenization;

/// <summary>
/// cl100k_base and o200k_base from Microsoft.ML.Tokenizers; their data packages embed the vocabularies, so this
/// works offline. A special token written in a document (a literal "&lt;|endoftext|&gt;") is encoded as ordinary
/// text, as tiktoken's encode_ordinary does, so a document can never fake a document boundary.
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
            ids.AddRange(_tok.EncodeToIds(text.AsSpan(start, at + 2 - start), considerPreTokenization: true, considerNormalization: true));
            start = at + 2;
        }
        ids.AddRange(_tok.EncodeToIds(text.AsSpan(start), considerPreTokenization: true, considerNormalization: true));
    }

    bool StartsSpecial(string text, int at)
    {
        foreach (var s in _tok.SpecialTokens!.Keys)
            if (string.CompareOrdinal(text, at, s, 0, s.Length) == 0) return true;
        return false;
    }

    public string Decode(ReadOnlySpan<int> ids) => _tok.Decode(ids.ToArray());
}
