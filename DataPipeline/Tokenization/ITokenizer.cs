namespace Orchestrator.DataPipeline.Tokenization;

/// <summary>
/// Text to token ids and back. Every tokenizer has one end-of-text token that `data prepare` puts after each
/// document. Implementations are thread-safe: `data prepare` encodes documents on all cores at once.
/// </summary>
public interface ITokenizer
{
    /// <summary>The name written to the manifest: "bytes", "cl100k", "o200k" or "bpe".</summary>
    string Name { get; }

    /// <summary>Number of token ids (the largest id + 1), end-of-text included; not padded.</summary>
    int VocabSize { get; }

    /// <summary>The end-of-document token id.</summary>
    int EndOfText { get; }

    /// <summary>Appends the ids of <paramref name="text"/> (no end-of-text) to <paramref name="ids"/>.</summary>
    void Encode(string text, List<int> ids);

    /// <summary>Text of <paramref name="ids"/>; end-of-text renders as "&lt;|endoftext|&gt;", invalid UTF-8 as U+FFFD.</summary>
    string Decode(ReadOnlySpan<int> ids);
}

public static class TokenizerExtensions
{
    public static int[] Encode(this ITokenizer tokenizer, string text)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        tokenizer.Encode(text, ids);
        return [.. ids];
    }

    public static string Decode(this ITokenizer tokenizer, IEnumerable<long> ids) =>
        tokenizer.Decode(ids.Select(i => checked((int)i)).ToArray());
}
