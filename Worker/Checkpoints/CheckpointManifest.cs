namespace Orchestrator.Worker.Checkpoints;

/// <summary>
/// manifest.json of a checkpoint folder, written last: a checkpoint is valid only when its manifest exists and every
/// listed file has the listed size and SHA-256.
/// </summary>
public sealed record CheckpointManifest(int FormatVersion, long Step, DateTimeOffset CreatedUtc, IReadOnlyList<CheckpointFile> Files)
{
    public const int CurrentFormat = 1;
    public const string FileName = "manifest.json";
}

/// <summary>One file of a checkpoint: name relative to the folder, size in bytes, SHA-256 (lower-case hex).</summary>
public sealed record CheckpointFile(string Name, long Bytes, string Sha256);
