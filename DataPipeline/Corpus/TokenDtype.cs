namespace Orchestrator.DataPipeline.Corpus;

/// <summary>How token ids are stored in the shards: uint16 where the vocabulary fits (half the bytes), else int32.</summary>
public static class TokenDtype
{
    public const string UInt16 = "uint16";
    public const string Int32 = "int32";

    /// <summary>Picks the dtype for <paramref name="vocabSize"/>: "auto" (or null) chooses, an explicit one is checked.</summary>
    public static string Choose(string? requested, int vocabSize, string tokenizerName)
    {
        switch (requested?.ToLowerInvariant())
        {
            case null or "" or "auto":
                return vocabSize <= 65536 ? UInt16 : Int32;
            case UInt16:
                if (vocabSize > 65536)
                    throw new ArgumentException($"tokenizer '{tokenizerName}' has {vocabSize} token ids, too many for --token-dtype uint16 (at most 65536): use --token-dtype int32 or auto");
                return UInt16;
            case Int32:
                return Int32;
            default:
                throw new ArgumentException($"unknown --token-dtype '{requested}': use auto, uint16 or int32");
        }
    }
}
