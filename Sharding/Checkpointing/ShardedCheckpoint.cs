using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Engine;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Checkpointing;

/// <summary>
/// The one checkpoint format: per rank, <c>shard-00002-of-00004.bin</c> holds that rank's 1/W of every optimizer
/// buffer (fp32 masters and AdamW moments, <see cref="ShardSnapshot"/>); rank 0 adds the caller's files (the
/// trainer's state.json) and <c>manifest.json</c> with the global layout and every file's size and SHA-256 (with
/// <c>manifest.sha256</c>, the manifest's own). All of it
/// is written into one temp folder that rank 0 renames into place after the manifest: a crash at any point leaves
/// the previous checkpoints and a temp folder that nothing reads. Each rank announces its finished shard with a
/// small sidecar file (written after the shard is fsynced, by rename), which rank 0 waits for: the commit needs no
/// collective, so it runs off the training thread (the ranks share the run folder's filesystem, as they must to
/// resume at another world size). Loading reshards to any world size and ZeRO stage (<see cref="ShardReader"/>).
/// </summary>
public static class ShardedCheckpoint
{
    public static string ShardFile(int rank, int world) => $"shard-{rank:D5}-of-{world:D5}.bin";

    const string SidecarSuffix = ".done";

    /// <summary>
    /// Collective, training thread: a nonce every rank agrees on for this checkpoint's temp folder (rank 0 draws it,
    /// a one-element broadcast carries it).
    /// </summary>
    public static long AgreeNonce(StepEngine engine)
    {
        var comm = engine.Communicator;
        long mine = Random.Shared.NextInt64(1, 1 << 24); // exact in fp32
        if (comm.WorldSize == 1) return mine;
        using var host = tensor(new[] { (float)mine });
        using var t = host.to(engine.Optimizer.Master.device, copy: true);
        comm.Broadcast(t, 0);
        using var back = t.cpu();
        return (long)back.item<float>();
    }

    /// <summary>Any thread: writes this rank's shard into <paramref name="temp"/> and announces it (sidecar, last).</summary>
    /// <param name="afterShard">Called between the shard and its sidecar (a crash-test failpoint).</param>
    public static ManifestShard WriteShard(string temp, ShardSnapshot s, Action? afterShard = null)
    {
        Directory.CreateDirectory(temp);
        var file = ShardFile(s.Rank, s.WorldSize);
        string sha;
        using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        using (var fs = new FileStream(Path.Combine(temp, file), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
        {
            s.WriteTo(fs, hash);
            fs.Flush(flushToDisk: true);
            sha = Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        afterShard?.Invoke();
        var shard = new ManifestShard(s.Rank, file, s.Bytes, sha, s.Elements, s.Pieces);
        var sidecar = Path.Combine(temp, file + SidecarSuffix);
        WriteSynced(sidecar + ".tmp", JsonSerializer.SerializeToUtf8Bytes(shard, CheckpointManifest.Json));
        File.Move(sidecar + ".tmp", sidecar);
        return shard;
    }

    /// <summary>
    /// Rank 0, any thread: waits for every rank's shard in <paramref name="temp"/> (until <paramref name="ct"/>),
    /// writes <paramref name="files"/> and the manifest, and renames the folder to <paramref name="final"/> (an
    /// invalid folder already there is set aside as <c>NAME.invalid-TIME</c>, never overwritten).
    /// </summary>
    public static CheckpointManifest Commit(string temp, string final, ShardSnapshot s, IReadOnlyList<(string Name, byte[] Bytes)> files,
        IReadOnlyDictionary<string, string>? metadata, CancellationToken ct)
    {
        var sidecars = Enumerable.Range(0, s.WorldSize).Select(r => Path.Combine(temp, ShardFile(r, s.WorldSize) + SidecarSuffix)).ToList();
        // The wait ends on cancellation too: once the token is cancelled its handle stays signalled, so a loop on the
        // shards alone would spin for ever on a shard whose rank died, and the writer's Dispose with it.
        while (!sidecars.All(File.Exists) && !ct.WaitHandle.WaitOne(10)) { }
        ct.ThrowIfCancellationRequested();
        var shards = sidecars.Select(p => JsonSerializer.Deserialize<ManifestShard>(File.ReadAllBytes(p), CheckpointManifest.Json)!).ToList();
        var listed = files.Select(f => new ManifestFile(f.Name, f.Bytes.Length, WriteSynced(Path.Combine(temp, f.Name), f.Bytes))).ToList();
        var manifest = new CheckpointManifest(CheckpointManifest.CurrentVersion, s.Step, s.OptimizerStep, s.WorldSize, s.Zero,
            s.Layout.Groups.Count, s.Layout.Total, s.Buffers,
            s.Layout.Params.Select(p => new ManifestParam(p.Name, p.Shape, p.Offset, p.Group)).ToList(),
            shards, listed, metadata ?? new Dictionary<string, string>(), DateTimeOffset.UtcNow);
        var manifestSha = WriteSynced(Path.Combine(temp, CheckpointManifest.FileName), JsonSerializer.SerializeToUtf8Bytes(manifest, CheckpointManifest.Json));
        WriteSynced(Path.Combine(temp, CheckpointManifest.ChecksumFileName), Encoding.ASCII.GetBytes(manifestSha + "\n"));
        foreach (var p in sidecars) File.Delete(p);
        if (Directory.Exists(final))
        {
            if (CheckpointFolders.IsValid(final)) throw new IOException($"checkpoint {final} already exists; refusing to overwrite it");
            // Only reachable when an invalid checkpoint of this step exists (the run resumed from an older one).
            Directory.Move(final, final + ".invalid-" + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture));
        }
        Directory.Move(temp, final);
        return manifest;
    }

    /// <summary>
    /// Collective, synchronous (tools and tests; the trainer writes in the background through the same steps): saves
    /// the engine's state as <c>ROOT/ckpt-STEP</c> and returns that folder once it is committed.
    /// </summary>
    public static string Save(string root, StepEngine engine, long step, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var final = Path.Combine(root, CheckpointFolders.Name(step));
        if (File.Exists(Path.Combine(final, CheckpointManifest.FileName)))
            throw new IOException($"checkpoint {final} already exists; refusing to overwrite it (use a new folder or step)");
        var temp = CheckpointFolders.Temp(root, step, AgreeNonce(engine));
        using var snapshot = new ShardSnapshot(engine);
        snapshot.Capture(step);
        WriteShard(temp, snapshot);
        if (engine.Rank == 0) Commit(temp, final, snapshot, [], metadata, CancellationToken.None);
        engine.Communicator.Barrier();
        return final;
    }

    /// <summary>
    /// Checks the manifest and every file's size (all first: cheap), then every file's SHA-256, several files at once;
    /// <see cref="InvalidDataException"/> says what is wrong (the first file in manifest order when several are).
    /// </summary>
    public static CheckpointManifest Verify(string dir)
    {
        var m = CheckpointManifest.Read(dir);
        var files = m.Shards.Select(s => (Name: s.File, s.Bytes, s.Sha256)).Concat(m.Files.Select(f => (f.Name, f.Bytes, f.Sha256))).ToList();
        foreach (var (name, bytes, _) in files)
        {
            var p = Path.Combine(dir, name);
            if (!File.Exists(p)) throw new InvalidDataException($"{p} is missing");
            var len = new FileInfo(p).Length;
            if (len != bytes) throw new InvalidDataException($"{p} has {len} bytes, the manifest says {bytes} (truncated?)");
        }
        var problems = new string?[files.Count];
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Min(8, Environment.ProcessorCount) }, i =>
        {
            var p = Path.Combine(dir, files[i].Name);
            try
            {
                using var fs = new FileStream(p, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
                if (Convert.ToHexStringLower(SHA256.HashData(fs)) != files[i].Sha256) problems[i] = $"{p} fails its SHA-256 check (corrupt)";
            }
            catch (IOException e) { problems[i] = $"{p} cannot be read: {e.Message}"; }
        });
        if (problems.FirstOrDefault(x => x is not null) is { } problem) throw new InvalidDataException(problem);
        return m;
    }

    /// <summary>
    /// Collective only in that every rank loads: <paramref name="dir"/> into <paramref name="engine"/> at the engine's
    /// world size and ZeRO stage, whatever they were at save time, then publishes the compute parameters. Verifies
    /// the checkpoint first unless the caller passes the manifest it verified.
    /// </summary>
    public static CheckpointManifest Load(string dir, StepEngine engine, CheckpointManifest? verified = null)
    {
        var m = verified ?? Verify(dir);
        using var reader = new ShardReader(dir, m);
        reader.LoadInto(engine);
        return m;
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
}
