using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Orleans.Serialization;
using Orleans.Storage;

namespace Orchestrator.Coordinator.Hosting;

/// <summary>Where embedded-mode grain state lives: a folder (kept across restarts) or null (memory only).</summary>
public sealed record LocalGrainStorageOptions(string? Folder);

/// <summary>
/// Embedded-mode grain state, kept by the coordinator process itself. Orleans' memory storage keeps state in
/// storage grains spread over every silo, so killing a worker would lose run state; control-plane grains only
/// live on the coordinator, so their state belongs there too. Stored as Orleans binary (versioned by [Id]s) so a
/// read is a deep copy.
/// Invariant: with a folder, every completed write is on disk whole: the bytes go to a temporary file that is
/// flushed and then renamed over the old one (rename is atomic on one file system), so a coordinator killed mid-write
/// leaves the previous state, never a torn one, and a restarted coordinator reads back every run and sweep. One
/// coordinator owns a folder at a time (<see cref="StateFolderLock"/>).
/// </summary>
public sealed class LocalGrainStorage(Serializer serializer, LocalGrainStorageOptions? options = null) : IGrainStorage
{
    readonly ConcurrentDictionary<(string Type, GrainId Id), (byte[] Data, string ETag)> store = new();

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (store.TryGetValue((stateName, grainId), out var e) || TryLoad(stateName, grainId, out e))
        {
            grainState.State = serializer.Deserialize<T>(e.Data);
            grainState.ETag = e.ETag;
            grainState.RecordExists = true;
        }
        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var etag = Guid.NewGuid().ToString("N");
        var data = serializer.SerializeToArray(grainState.State);
        if (PathOf(stateName, grainId) is { } path) WriteWhole(path, data);
        store[(stateName, grainId)] = (data, etag);
        grainState.ETag = etag;
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (PathOf(stateName, grainId) is { } path && File.Exists(path)) File.Delete(path);
        store.TryRemove((stateName, grainId), out _);
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    bool TryLoad(string stateName, GrainId grainId, out (byte[] Data, string ETag) entry)
    {
        entry = default;
        if (PathOf(stateName, grainId) is not { } path || !File.Exists(path)) return false;
        entry = (File.ReadAllBytes(path), Guid.NewGuid().ToString("N"));
        store[(stateName, grainId)] = entry;
        return true;
    }

    /// <summary>FOLDER/STATE/GRAIN.bin, names escaped for the file system (hashed when too long for one name).</summary>
    string? PathOf(string stateName, GrainId grainId) =>
        options?.Folder is not { } folder ? null : Path.Combine(folder, FileName(stateName), FileName(grainId.ToString()) + ".bin");

    static string FileName(string name)
    {
        var escaped = Uri.EscapeDataString(name).Replace("%", "_");
        return escaped.Length <= 120 ? escaped : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)));
    }

    static void WriteWhole(string path, byte[] data)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp";
        using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            f.Write(data);
            f.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }
}
