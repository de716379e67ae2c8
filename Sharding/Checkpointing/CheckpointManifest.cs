using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Sharding.Checkpointing;

/// <summary>A parameter of the global flat layout: its elements are [Offset, Offset + prod(Shape)).</summary>
public sealed record ManifestParam(string Name, long[] Shape, long Offset, int Group);

/// <summary>
/// One rank's shard file: three fp32 little-endian arrays of <see cref="Elements"/> values each (master weights,
/// Adam exp_avg, exp_avg_sq), each the concatenation of <see cref="Pieces"/> ([global start, length] pairs).
/// </summary>
public sealed record ManifestShard(int Rank, string File, long Bytes, string Sha256, long Elements, IReadOnlyList<long[]> Pieces);

/// <summary>
/// manifest.json of a sharded checkpoint, written by rank 0 after every shard is on disk: the checkpoint exists
/// only once it does. The layout is global (names, shapes, offsets of the unpadded flat vector), so any world
/// size can read it back (<see cref="ShardedCheckpoint.Load"/> reshards). <see cref="Cursor"/> is the data
/// loader's position, opaque here (the trainer stores its LoaderCursor as JSON), world-size independent.
/// </summary>
public sealed record CheckpointManifest(
    int Version,
    long Step,
    long OptimizerStep,
    int WorldSize,
    int Zero,
    int Groups,
    long TotalElements,
    IReadOnlyList<ManifestParam> Parameters,
    IReadOnlyList<ManifestShard> Shards,
    string? Cursor,
    IReadOnlyDictionary<string, string> Metadata,
    DateTimeOffset Created)
{
    public const int CurrentVersion = 1;
    public const string FileName = "manifest.json";

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static CheckpointManifest Read(string dir)
    {
        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint {dir}: no {FileName} (the checkpoint was never committed)", path);
        try
        {
            var m = JsonSerializer.Deserialize<CheckpointManifest>(File.ReadAllText(path), Json)
                    ?? throw new InvalidDataException($"{path}: empty manifest");
            if (m.Version != CurrentVersion)
                throw new InvalidDataException($"{path}: manifest version {m.Version}; this build reads version {CurrentVersion}");
            return m;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid checkpoint manifest ({e.Message})", e);
        }
    }
}
