using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.DataPipeline.Tokenization.Bpe;

/// <summary>
/// The JSON file `orch tokenizer train` writes (format "orch-bpe", version 1):
/// <code>
/// {
///   "format": "orch-bpe", "version": 1,
///   "pattern": "...",              // the pre-tokenizer regex (GPT-2's)
///   "vocab_size": 8000,            // ids 0..vocab_size-1
///   "end_of_text": 256,            // ids 0..255 are the bytes, 256 is end-of-text
///   "merges": [[116, 104], ...],   // merge i makes id 257 + i from the pair (left id, right id)
///   "vocab": ["00", ..., "ff", "", "7468", ...]   // each id's bytes in hex ("" for end-of-text), for reading
/// }
/// </code>
/// Merges are applied lowest index first, as in GPT-2. "vocab" is derived from the merges and checked on load.
/// </summary>
public sealed record BpeFile
{
    public const string FormatName = "orch-bpe";
    public string Format { get; init; } = FormatName;
    public int Version { get; init; } = 1;
    public string Pattern { get; init; } = PreTokenizer.Pattern;
    public required int VocabSize { get; init; }
    public int EndOfText { get; init; } = BpeTokenizer.EndOfTextId;
    public required int[][] Merges { get; init; }
    public required string[] Vocab { get; init; }

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = false,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };
}
