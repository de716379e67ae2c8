using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.DataPipeline.Corpus;

/// <summary>
/// manifest.json of a prepared corpus, written last (temp + rename) so a folder without it is never a corpus. It is the
/// root every shard's checksum hangs from, so it has one of its own: <c>manifest.sha256</c> beside it (written just
/// before it) holds the SHA-256 of its bytes. Without it, one flipped digit of a block count or the block size would
/// cut every block at the wrong place unnoticed. Version 1 corpora (prepared before the sidecar) still read without
/// one; from version 2 on a missing sidecar is refused.
///
/// Corpus format, version 2 (version 1: the same without manifest.sha256):
/// - The tokenized documents, each followed by the end-of-text token, form one token stream. The stream is cut
///   into blocks of <see cref="BlockSize"/> + 1 tokens with stride <see cref="BlockSize"/> (block k holds stream
///   tokens [k*B, k*B + B + 1)), so input = block[0..B) and target = block[1..B+1) predict every token once.
///   The last block is padded with end-of-text tokens.
/// - Split by block (<see cref="SplitBy"/> "block"): block k goes to val when floor((k+1)*f) &gt; floor(k*f) (f = val
///   fraction): val blocks are spread evenly through the corpus, deterministic, and a single long document still gets
///   a val split. Split by document ("document"): document k goes to val by the same rule, and each split is its own
///   token stream cut into blocks as above (no document in both).
/// - Each split is written to Parquet shards `train-00000.parquet`, `val-00000.parquet`, ... with one flat,
///   required column `tokens` (uint16 when the vocabulary fits, else int32): row group after row group of
///   <see cref="SplitInfo.BlocksPerRowGroup"/> blocks (B + 1 values each; only a split's last row group may be
///   shorter), <see cref="SplitInfo.RowGroupsPerShard"/> row groups per shard (only the last shard may have fewer).
/// - For `bpe` the tokenizer file is copied next to the manifest as tokenizer.json.
/// </summary>
public sealed record CorpusManifest
{
    public const string FileName = "manifest.json";
    /// <summary>The manifest's own SHA-256 (lower-case hex, one line), beside it.</summary>
    public const string ChecksumFileName = "manifest.sha256";
    public const string FormatName = "orch-token-corpus";
    public const int CurrentVersion = 2;
    /// <summary>The last version written without <see cref="ChecksumFileName"/>; still read.</summary>
    const int VersionWithoutChecksum = 1;

    public string Format { get; init; } = FormatName;
    public int FormatVersion { get; init; } = CurrentVersion;
    /// <summary>bytes, cl100k, o200k or bpe.</summary>
    public required string Tokenizer { get; init; }
    /// <summary>For bpe: the tokenizer file name inside the corpus folder; else null.</summary>
    public string? TokenizerFile { get; init; }
    public required int VocabSize { get; init; }
    public required int EndOfText { get; init; }
    /// <summary>uint16 or int32.</summary>
    public required string TokenDtype { get; init; }
    /// <summary>Sequence length B; each stored block holds B + 1 tokens.</summary>
    public required int BlockSize { get; init; }
    public required double ValFraction { get; init; }
    public required long Documents { get; init; }
    /// <summary>Documents skipped because their text was null or empty.</summary>
    public required long SkippedDocuments { get; init; }
    /// <summary>All tokens produced, end-of-text tokens included, before cutting into blocks.</summary>
    public required long Tokens { get; init; }
    /// <summary>End-of-text tokens added to fill the last block.</summary>
    public required long PaddingTokens { get; init; }
    /// <summary>Train input tokens per epoch: train blocks x block size.</summary>
    public required long TrainTokens { get; init; }
    public required long ValTokens { get; init; }
    public required SplitInfo Train { get; init; }
    public required SplitInfo Val { get; init; }
    public required IReadOnlyList<SourceInfo> Sources { get; init; }
    public required DateTime CreatedUtc { get; init; }
    /// <summary>"block" or "document": how train and val were split (older manifests: block).</summary>
    public string SplitBy { get; init; } = "block";
    /// <summary>Documents dropped because an earlier document had exactly the same text (content hash).</summary>
    public long DuplicateDocuments { get; init; }
    /// <summary>Documents over the size limit; <see cref="OversizedPolicy"/> says whether they were split or skipped.</summary>
    public long OversizedDocuments { get; init; }
    /// <summary>"split", "skip", or null when no limit was set.</summary>
    public string? OversizedPolicy { get; init; }

    public SplitInfo Split(string name) => name switch
    {
        "train" => Train,
        "val" => Val,
        _ => throw new ArgumentException($"unknown split '{name}': use 'train' or 'val'"),
    };

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Reads DIR/manifest.json; a missing or unreadable one is bad input (exit 2 in the CLI).</summary>
    public static CorpusManifest Read(string corpusDir)
    {
        if (!Directory.Exists(corpusDir))
            throw new DirectoryNotFoundException($"corpus folder '{corpusDir}' does not exist: run `orch data prepare --out {corpusDir}` first");
        var path = Path.Combine(corpusDir, FileName);
        if (!File.Exists(path))
            throw new FileNotFoundException($"'{corpusDir}' is not a prepared corpus (no {FileName}; an interrupted prepare leaves none): run `orch data prepare --out {corpusDir}`", path);
        var bytes = File.ReadAllBytes(path);
        var checksumPath = Path.Combine(corpusDir, ChecksumFileName);
        bool vouched = File.Exists(checksumPath);
        if (vouched && File.ReadAllText(checksumPath).Trim() != Convert.ToHexStringLower(SHA256.HashData(bytes)))
            throw new InvalidDataException($"'{path}' fails its SHA-256 check against {ChecksumFileName} (damaged): prepare the corpus again");
        CorpusManifest? m;
        try { m = JsonSerializer.Deserialize<CorpusManifest>(bytes, Json); }
        catch (JsonException e) { throw new InvalidDataException($"'{path}' is not a valid corpus manifest: {e.Message}"); }
        if (m is null || m.Format != FormatName)
            throw new InvalidDataException($"'{path}' is not an orch corpus manifest (format '{m?.Format}')");
        if (m.FormatVersion is not (CurrentVersion or VersionWithoutChecksum))
            throw new InvalidDataException($"'{path}' has corpus format version {m.FormatVersion}; this build reads versions {VersionWithoutChecksum} and {CurrentVersion}: prepare the corpus again");
        if (m.FormatVersion != VersionWithoutChecksum && !vouched)
            throw new InvalidDataException($"'{path}' has no {ChecksumFileName} beside it (a damaged corpus): prepare the corpus again");
        return m;
    }

    /// <summary>Writes DIR/manifest.sha256, then DIR/manifest.json, each atomically (temp + rename): a folder with the
    /// manifest always has its checksum.</summary>
    public void Write(string corpusDir)
    {
        var path = Path.Combine(corpusDir, FileName);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(this, Json);
        var checksum = Path.Combine(corpusDir, ChecksumFileName);
        File.WriteAllText(checksum + ".tmp", Convert.ToHexStringLower(SHA256.HashData(bytes)) + "\n");
        File.Move(checksum + ".tmp", checksum, overwrite: true);
        File.WriteAllBytes(path + ".tmp", bytes);
        File.Move(path + ".tmp", path, overwrite: false);
    }
}

/// <summary>One split (train or val) of a corpus.</summary>
public sealed record SplitInfo(long Blocks, int BlocksPerRowGroup, int RowGroupsPerShard, IReadOnlyList<ShardInfo> Shards)
{
    public long RowGroups => Shards.Sum(s => (long)s.RowGroups);
}

/// <summary>One Parquet shard file: blocks, row groups, size and SHA-256 (lowercase hex) of the whole file.</summary>
public sealed record ShardInfo(string File, long Blocks, int RowGroups, long Bytes, string Sha256);

/// <summary>One input of `data prepare`.</summary>
public sealed record SourceInfo(string Path, string Format, long Documents, long Bytes);
