using Orchestrator.DataPipeline.Inputs;

namespace Orchestrator.DataPipeline.Prepare;

/// <summary>What `orch data prepare` was asked to do.</summary>
public sealed record PrepareOptions
{
    public required IReadOnlyList<string> Inputs { get; init; }
    public required string OutDir { get; init; }
    /// <summary>cl100k, o200k, bytes or bpe:FILE.</summary>
    public string Tokenizer { get; init; } = "cl100k";
    /// <summary>auto, text, jsonl, parquet or brown.</summary>
    public string Format { get; init; } = "auto";
    public string TextColumn { get; init; } = "text";
    public int BlockSize { get; init; } = 1024;
    public double ValFraction { get; init; } = 0.1;
    /// <summary>auto (uint16 when the vocabulary fits), uint16 or int32.</summary>
    public string TokenDtype { get; init; } = "auto";
    public bool Force { get; init; }
    public InvalidUtf8Policy InvalidUtf8 { get; init; } = InvalidUtf8Policy.Refuse;
    public int RowGroupTokens { get; init; } = 1 << 19;
    public int RowGroupsPerShard { get; init; } = 64;
    /// <summary>Tokenizing threads; 0 means one per core.</summary>
    public int Threads { get; init; }
    /// <summary>Folder inputs: only files matching one of these globs (<see cref="PathGlob"/>); empty: by extension.</summary>
    public IReadOnlyList<string> Include { get; init; } = [];
    /// <summary>Folder inputs: drop files matching any of these globs.</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];
    /// <summary>Drop a document whose text equals an earlier one's (SHA-256 of the text); the count goes in the manifest.</summary>
    public bool Dedupe { get; init; } = true;
    /// <summary>Documents above this many UTF-8 bytes are split or skipped (<see cref="Oversized"/>); 0: no limit.</summary>
    public long MaxDocBytes { get; init; }
    /// <summary>split (pieces of at most MaxDocBytes, cut at line ends where possible) or skip.</summary>
    public string Oversized { get; init; } = "split";
    /// <summary>block (every 1/f-th block to val) or document (every 1/f-th document to val, whole).</summary>
    public string Split { get; init; } = "block";
    public Action<string>? Warn { get; init; }
    public Action<PrepareProgress>? Progress { get; init; }
}

/// <summary>A progress report: text read so far against the inputs' total size on disk.</summary>
public sealed record PrepareProgress(long Documents, long Tokens, long TextBytes, long InputBytesDone, long InputBytesTotal, TimeSpan Elapsed)
{
    public double MegabytesPerSecond => Elapsed.TotalSeconds > 0 ? TextBytes / 1e6 / Elapsed.TotalSeconds : 0;
}

/// <summary>What a prepare produced (the manifest) and how fast.</summary>
public sealed record PrepareResult(Corpus.CorpusManifest Manifest, long TextBytes, TimeSpan Elapsed)
{
    public double MegabytesPerSecond => Elapsed.TotalSeconds > 0 ? TextBytes / 1e6 / Elapsed.TotalSeconds : 0;
}
