using System.Text.RegularExpressions;

namespace Orchestrator.DataPipeline.Tokenization.Bpe;

/// <summary>
/// Splits text into the pieces BPE merges never cross (GPT-2's rule: contractions, words with their leading
/// space, numbers, punctuation runs, whitespace). Every character lands in exactly one piece, so encoding
/// round-trips any text.
/// </summary>
static partial class PreTokenizer
{
    public const string Pattern = @"'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    [GeneratedRegex(Pattern, RegexOptions.CultureInvariant)]
    public static partial Regex Regex();

    public static List<string> Split(string text)
    {
        var pieces = new List<string>();
        foreach (var m in Regex().EnumerateMatches(text)) pieces.Add(text.Substring(m.Index, m.Length));
        return pieces;
    }
}
