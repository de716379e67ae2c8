using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Sharding.Checkpointing;

/// <summary>A parameter of the global flat layout: its elements are [Offset, Offset + prod(Shape)).</summary>
public sealed record ManifestParam(string Name, long[] Shape, long Offset, int Group);

/// <summary>
/// One rank's shard file: one fp32 little-endian array of <see cref="Elements"/> values per optimizer buffer, in the
/// manifest's <see cref="CheckpointManifest.Buffers"/> order, each the concatenation of <see cref="Pieces"/>
/// ([global start, length] pairs of the unpadded flat vector).
/// </summary>
public sealed record ManifestShard(int Rank, string File, long Bytes, string Sha256, long Elements, IReadOnlyList<long[]> Pieces);

/// <summary>Another file of the checkpoint (the trainer's state.json): name, size, SHA-256 (lower-case hex).</summary>
public sealed record ManifestFile(string Name, long Bytes, string Sha256);

/// <summary>
/// manifest.json of a checkpoint, written by rank 0 once every rank's shard is on disk, inside the temp folder that is
/// then renamed into place: the checkpoint exists only once it does. The layout is global (names, shapes, offsets of
/// the unpadded flat vector), so any world size reads it back (<see cref="ShardedCheckpoint.Load"/> reshards).
/// The manifest is the root every file's checksum hangs from, so it has one of its own: <c>manifest.sha256</c> beside
/// it holds the SHA-256 of its bytes, written in the same temp folder. Without it, one flipped digit of an offset or a
/// shape would load the right bytes into the wrong places unnoticed. Version 2 manifests (written before the sidecar)
/// still read without one; from version 3 on a missing sidecar makes the checkpoint invalid.
/// </summary>
public sealed record CheckpointManifest(
    int Version,
    long Step,
    long OptimizerStep,
    int WorldSize,
    int Zero,
    int Groups,
    long TotalElements,
    IReadOnlyList<string> Buffers,
    IReadOnlyList<ManifestParam> Parameters,
    IReadOnlyList<ManifestShard> Shards,
    IReadOnlyList<ManifestFile> Files,
    IReadOnlyDictionary<string, string> Metadata,
    DateTimeOffset Created)
{
    public const int CurrentVersion = 3;
    /// <summary>The last version written without <see cref="ChecksumFileName"/>; still read.</summary>
    const int VersionWithoutChecksum = 2;
    public const string FileName = "manifest.json";
    /// <summary>The manifest's own SHA-256 (lower-case hex, one line), beside it.</summary>
    public const string ChecksumFileName = "manifest.sha256";

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Reads and checks the manifest of <paramref name="dir"/>; <see cref="InvalidDataException"/> says what is wrong.</summary>
    public static CheckpointManifest Read(string dir)
    {
        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) throw new InvalidDataException($"{dir} has no {FileName} (an incomplete or foreign checkpoint)");
        var bytes = File.ReadAllBytes(path);
        var checksumPath = Path.Combine(dir, ChecksumFileName);
        bool vouched = File.Exists(checksumPath);
        if (vouched && File.ReadAllText(checksumPath).Trim() != Convert.ToHexStringLower(SHA256.HashData(bytes)))
            throw new InvalidDataException($"{path} fails its SHA-256 check against {ChecksumFileName} (corrupt)");
        CheckpointManifest? m;
        try { m = JsonSerializer.Deserialize<CheckpointManifest>(bytes, Json); }
        catch (JsonException e) { throw new InvalidDataException($"{path} is not valid JSON: {e.Message}", e); }
        if (m is null) throw new InvalidDataException($"{path} is empty");
        if (m.Version is not (CurrentVersion or VersionWithoutChecksum))
            throw new InvalidDataException($"{path}: checkpoint format version {m.Version}, this build reads versions {VersionWithoutChecksum} and {CurrentVersion} (per-rank shards)");
        if (m.Version != VersionWithoutChecksum && !vouched)
            throw new InvalidDataException($"{path} has no {ChecksumFileName} beside it (an incomplete or damaged checkpoint)");
        if (m.Buffers is null || m.Parameters is null || m.Shards is null || m.Files is null)
            throw new InvalidDataException($"{path}: the manifest lacks buffers, parameters, shards or files");
        return m;
    }
}
