using System.Text.RegularExpressions;

namespace Orchestrator.DataPipeline.Tokenization.Bpe;

/// <summary>
/// Splits text into the pieces BPE merges never cross (GPT-2's rule: contractions, words with their leading
/// space, numbers, punctuation runs, whitespace), and cuts any piece longer than <see cref="MaxPieceChars"/> into
/// slices of at most that length. Every character lands in exactly one piece, so encoding round-trips any text.
///
/// Risk this guards against: BPE on one piece costs about the square of its length, so a document without spaces
/// (a 10 MB minified file, a base64 blob) would be one piece and take hours. With the cap the cost is linear in the
/// text; no real word comes near 128 characters, so ordinary text is split exactly as GPT-2 splits it.
/// </summary>
public static partial class PreTokenizer
{
    public const string Pattern = @"'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>The longest piece BPE sees; longer regex matches are cut into slices of this many chars (never inside a surrogate pair).</summary>
    public const int MaxPieceChars = 128;

    [GeneratedRegex(Pattern, RegexOptions.CultureInvariant)]
    public static partial Regex Regex();

    public delegate void PieceAction(int start, int length);

    /// <summary>Calls <paramref name="piece"/> with each piece's start and length, in order.</summary>
    public static void ForEach(string text, PieceAction piece)
    {
        foreach (var m in Regex().EnumerateMatches(text))
        {
            if (m.Length <= MaxPieceChars) piece(m.Index, m.Length);
            else Slice(text, m.Index, m.Length, MaxPieceChars, piece);
        }
    }

    /// <summary>Cuts [start, start + length) into slices of at most <paramref name="max"/> chars, keeping surrogate pairs whole.</summary>
    public static void Slice(ReadOnlySpan<char> text, int start, int length, int max, PieceAction piece)
    {
        int end = start + length;
        while (start < end)
        {
            int n = Math.Min(max, end - start);
            if (start + n < end && char.IsHighSurrogate(text[start + n - 1]) && n > 1) n--;
            piece(start, n);
            start += n;
        }
    }

    public static List<string> Split(string text)
    {
        var pieces = new List<string>();
        ForEach(text, (s, n) => pieces.Add(text.Substring(s, n)));
        return pieces;
    }
}
