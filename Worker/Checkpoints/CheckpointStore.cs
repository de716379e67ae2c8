using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Checkpoints;

/// <summary>
/// Checkpoint folders under one run directory: <c>ckpt-000100/</c> with model.safetensors (fp32 masters),
/// optimizer.safetensors (AdamW moments), state.json (<see cref="TrainerState"/>) and manifest.json (SHA-256 per
/// file, written last). A checkpoint is written into a hidden temp folder and renamed into place, so a crash
/// mid-write leaves the previous checkpoints untouched; keep-last-N deletes only older valid ones, and never the
/// <paramref name="pinned"/> steps (a trunk's fork points, which branches start from later).
/// </summary>
public sealed class CheckpointStore(string root, int keep = 3, IReadOnlyCollection<int>? pinned = null)
{
    public const string ModelFile = "model.safetensors";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string StateFile = "state.json";
    const string Prefix = "ckpt-";
    const string TempPrefix = ".tmp-ckpt-";

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    public string Root { get; } = root;

    public static string FolderName(long step) => Prefix + step.ToString("D6", CultureInfo.InvariantCulture);

    /// <summary>Writes a checkpoint for <paramref name="state"/>.Step atomically; returns its folder.</summary>
    public string Save(IEnumerable<(string Name, Tensor Tensor)> model, IEnumerable<(string Name, Tensor Tensor)> optimizer, TrainerState state)
    {
        Directory.CreateDirectory(Root);
        var final = Path.Combine(Root, FolderName(state.Step));
        if (IsValid(final)) return final; // this step is already saved (a resume that had nothing left to do)
        var temp = Path.Combine(Root, TempPrefix + state.Step.ToString("D6", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(temp);
        try
        {
            var files = new List<CheckpointFile>();
            void Add(string name, string sha) => files.Add(new CheckpointFile(name, new FileInfo(Path.Combine(temp, name)).Length, sha));
            var meta = new Dictionary<string, string> { ["format"] = "orchestrator-checkpoint", ["step"] = state.Step.ToString(CultureInfo.InvariantCulture) };
            Add(ModelFile, Safetensors.Write(Path.Combine(temp, ModelFile), model, meta));
            CheckpointFailpoint.Reached(state.Step);
            Add(OptimizerFile, Safetensors.Write(Path.Combine(temp, OptimizerFile), optimizer, meta));
            Add(StateFile, WriteSynced(Path.Combine(temp, StateFile), JsonSerializer.SerializeToUtf8Bytes(state, Json)));
            var manifest = new CheckpointManifest(CheckpointManifest.CurrentFormat, state.Step, DateTimeOffset.UtcNow, files);
            WriteSynced(Path.Combine(temp, CheckpointManifest.FileName), JsonSerializer.SerializeToUtf8Bytes(manifest, Json));
            if (Directory.Exists(final))
            {
                // Only reachable when an invalid checkpoint of this step exists (we resumed from an older one):
                // set it aside rather than overwrite it.
                Directory.Move(final, final + ".invalid-" + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture));
            }
            Directory.Move(temp, final);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        Prune();
        return final;
    }

    /// <summary>Checkpoint folders (valid or not) with their step, oldest first.</summary>
    public IReadOnlyList<(long Step, string Path)> List()
    {
        if (!Directory.Exists(Root)) return [];
        return Directory.GetDirectories(Root, Prefix + "*")
            .Select(d => (Name: System.IO.Path.GetFileName(d), Path: d))
            .Where(d => d.Name.Length > Prefix.Length && d.Name[Prefix.Length..].All(char.IsAsciiDigit))
            .Select(d => (long.Parse(d.Name[Prefix.Length..], CultureInfo.InvariantCulture), d.Path))
            .OrderBy(d => d.Item1)
            .ToList();
    }

    /// <summary>The newest checkpoint that verifies; invalid newer ones are reported through <paramref name="warn"/> and skipped.</summary>
    public string? FindNewestValid(Action<string>? warn = null)
    {
        foreach (var (_, path) in List().Reverse())
        {
            try
            {
                Verify(path);
                return path;
            }
            catch (InvalidDataException e)
            {
                warn?.Invoke($"skipping checkpoint {path}: {e.Message}");
            }
        }
        return null;
    }

    static bool IsValid(string dir)
    {
        if (!Directory.Exists(dir)) return false;
        try { Verify(dir); return true; }
        catch (InvalidDataException) { return false; }
    }

    /// <summary>Checks the manifest and every file's size and SHA-256; <see cref="InvalidDataException"/> says what is wrong.</summary>
    public static CheckpointManifest Verify(string dir)
    {
        var manifestPath = Path.Combine(dir, CheckpointManifest.FileName);
        if (!File.Exists(manifestPath))
            throw new InvalidDataException($"{dir} has no {CheckpointManifest.FileName} (an incomplete or foreign checkpoint)");
        CheckpointManifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<CheckpointManifest>(File.ReadAllBytes(manifestPath), Json)
                ?? throw new InvalidDataException($"{manifestPath} is empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{manifestPath} is not valid JSON: {e.Message}");
        }
        if (manifest.FormatVersion != CheckpointManifest.CurrentFormat)
            throw new InvalidDataException($"{manifestPath}: format version {manifest.FormatVersion} is not {CheckpointManifest.CurrentFormat}");
        foreach (var f in manifest.Files)
        {
            var p = Path.Combine(dir, f.Name);
            if (!File.Exists(p)) throw new InvalidDataException($"{p} is missing");
            var len = new FileInfo(p).Length;
            if (len != f.Bytes) throw new InvalidDataException($"{p} has {len} bytes, the manifest says {f.Bytes} (truncated?)");
            using var fs = File.OpenRead(p);
            var sha = Convert.ToHexStringLower(SHA256.HashData(fs));
            if (sha != f.Sha256) throw new InvalidDataException($"{p} fails its SHA-256 check (corrupt)");
        }
        return manifest;
    }

    /// <summary>Verifies and loads a checkpoint folder's tensors (on the CPU) and state.</summary>
    public static LoadedCheckpoint Load(string dir)
    {
        Verify(dir);
        var state = JsonSerializer.Deserialize<TrainerState>(File.ReadAllBytes(Path.Combine(dir, StateFile)), Json)
            ?? throw new InvalidDataException($"{dir}/{StateFile} is empty");
        var (model, _) = Safetensors.Read(Path.Combine(dir, ModelFile));
        var (optimizer, _) = Safetensors.Read(Path.Combine(dir, OptimizerFile));
        return new LoadedCheckpoint(dir, state, model, optimizer);
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

    void Prune()
    {
        foreach (var d in Directory.GetDirectories(Root, TempPrefix + "*")) TryDelete(d); // leftovers of crashed writes
        if (keep <= 0) return;
        var all = List().Where(c => pinned is null || !pinned.Contains((int)c.Step)).ToList();
        foreach (var (_, path) in all.Take(Math.Max(0, all.Count - keep))) TryDelete(path);
    }

    static string WriteSynced(string path, byte[] bytes)
    {
        using (var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            fs.Write(bytes);
            fs.Flush(flushToDisk: true);
        }
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>A verified checkpoint in memory: CPU tensors by name and the trainer state.</summary>
public sealed record LoadedCheckpoint(string Path, TrainerState State, Dictionary<string, Tensor> Model, Dictionary<string, Tensor> Optimizer) : IDisposable
{
    public void Dispose()
    {
        foreach (var t in Model.Values) t.Dispose();
        foreach (var t in Optimizer.Values) t.Dispose();
    }
}
