using System.Text.Json;
using Orchestrator.Sharding.Checkpointing;

namespace Orchestrator.Worker.Checkpoints;

/// <summary>
/// The checkpoints of one run folder, in the one format (<see cref="ShardedCheckpoint"/>): <c>ckpt-000100/</c> with a
/// shard per rank, <c>state.json</c> (<see cref="TrainerState"/>) and <c>manifest.json</c> (sizes and SHA-256 of
/// every file, with its own in <c>manifest.sha256</c>; written last, then the folder renamed into place). Keep-last-N deletes only older checkpoints, and
/// never the <paramref name="pinned"/> steps (a trunk's fork points, which branches start from later); a corrupt
/// newest checkpoint is skipped for the previous one. Writing is <see cref="CheckpointWriter"/>'s.
/// </summary>
public sealed class CheckpointStore(string root, int keep = 3, IReadOnlyCollection<int>? pinned = null)
{
    public const string StateFile = "state.json";

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    public string Root { get; } = root;

    public static string FolderName(long step) => CheckpointFolders.Name(step);

    /// <summary>The shard file rank <paramref name="rank"/> of <paramref name="world"/> writes.</summary>
    public static string ShardFile(int rank, int world) => ShardedCheckpoint.ShardFile(rank, world);

    /// <summary>Checkpoint folders (valid or not) with their step, oldest first.</summary>
    public IReadOnlyList<(long Step, string Path)> List() => CheckpointFolders.List(Root);

    /// <summary>The newest checkpoint that verifies; invalid newer ones are reported through <paramref name="warn"/> and skipped.</summary>
    public string? FindNewestValid(Action<string>? warn = null) => CheckpointFolders.FindNewestValid(Root, warn);

    /// <summary>Checks the manifest and every file's size and SHA-256; <see cref="InvalidDataException"/> says what is wrong.</summary>
    public static CheckpointManifest Verify(string dir)
    {
        var m = ShardedCheckpoint.Verify(dir);
        if (!m.Files.Any(f => f.Name == StateFile)) throw new InvalidDataException($"{dir} has no {StateFile} (not a training checkpoint)");
        return m;
    }

    /// <summary>Verifies a checkpoint folder and reads its trainer state; the tensors are read by whoever needs them (<see cref="ShardReader"/>).</summary>
    public static LoadedCheckpoint Load(string dir)
    {
        var manifest = Verify(dir);
        var state = JsonSerializer.Deserialize<TrainerState>(File.ReadAllBytes(Path.Combine(dir, StateFile)), Json)
            ?? throw new InvalidDataException($"{dir}/{StateFile} is empty");
        return new LoadedCheckpoint(dir, state, manifest);
    }

    /// <summary>The newest checkpoint that verifies, loaded (each checkpoint verified once); invalid newer ones are reported and skipped.</summary>
    public LoadedCheckpoint? LoadNewestValid(Action<string>? warn = null)
    {
        foreach (var (_, path) in List().Reverse())
        {
            try { return Load(path); }
            catch (InvalidDataException e) { warn?.Invoke($"skipping checkpoint {path}: {e.Message}"); }
        }
        return null;
    }

    /// <summary>
    /// A checkpoint folder given by the user, or the newest valid checkpoint of a run folder. Bad input throws
    /// <see cref="DirectoryNotFoundException"/> or <see cref="InvalidDataException"/> with the fix.
    /// </summary>
    public static string Resolve(string path, Action<string>? warn = null)
    {
        if (!Directory.Exists(path)) throw new DirectoryNotFoundException($"--checkpoint {path}: no such folder");
        if (File.Exists(Path.Combine(path, CheckpointManifest.FileName)) || File.Exists(Path.Combine(path, StateFile))) return path;
        return new CheckpointStore(path).FindNewestValid(warn)
            ?? throw new InvalidDataException($"--checkpoint {path}: no valid checkpoint there (expected a ckpt-NNNNNN folder with a manifest.json, or a run folder that holds them)");
    }

    /// <summary>Rank 0, after a commit: removes leftovers of crashed writes, then all but the newest <c>keep</c> unpinned checkpoints.</summary>
    /// <param name="writing">The temp folder of a write in progress, which stays.</param>
    public void Prune(string? writing = null)
    {
        if (Directory.Exists(Root))
            foreach (var d in Directory.GetDirectories(Root, CheckpointFolders.TempPrefix + "*"))
                if (d != writing) TryDelete(d);
        if (keep <= 0) return;
        var all = List().Where(c => pinned is null || !pinned.Contains((int)c.Step)).ToList();
        foreach (var (_, path) in all.Take(Math.Max(0, all.Count - keep))) TryDelete(path);
    }

    static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>A verified checkpoint: its folder, the trainer state and the manifest (the tensors stay on disk until read).</summary>
public sealed record LoadedCheckpoint(string Path, TrainerState State, CheckpointManifest Manifest);
