using Microsoft.ML.Tokenizers;

namespace Orchestrator.DataPipeline.Tokenization;

/// <summary>
/// cl100k_base and o200k_base from Microsoft.ML.Tokenizers; their data packages embed the vocabularies, so this
/// works offline. Special tokens in the text (a literal "&lt;|endoftext|&gt;") are encoded as ordinary text, so a
/// document can never fake a document boundary.
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
        // considerSpecialTokens: false keeps "<|endoftext|>" inside a document as plain text.
        ids.AddRange(_tok.EncodeToIds(text, considerPreTokenization: true, considerNormalization: true));
    }

    public string Decode(ReadOnlySpan<int> ids) => _tok.Decode(ids.ToArray());
}
