using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Engine;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Checkpointing;

/// <summary>
/// Sharded checkpoints under a run folder: <c>step-00000040/shard-00002-of-00004.bin</c> per rank and
/// <c>manifest.json</c> by rank 0, last. Each rank writes its shard to a temp file, fsyncs and renames it, then
/// describes it (pieces, size, SHA-256) in a small sidecar; after a barrier rank 0 folds the sidecars into the
/// manifest (temp + rename) and a second barrier tells everyone the checkpoint exists. A crash at any point
/// leaves either the previous checkpoint or a folder without a manifest, which <see cref="FindLatestValid"/>
/// skips. Loading reads the global layout and reshards to the reader's world size and ZeRO stage.
/// </summary>
public static class ShardedCheckpoint
{
    public static string StepDir(string root, long step) => Path.Combine(root, $"step-{step:D8}");

    static string ShardFile(int rank, int world) => $"shard-{rank:D5}-of-{world:D5}.bin";

    /// <summary>Collective: every rank calls it. Returns the checkpoint folder.</summary>
    public static string Save(string root, StepEngine trainer, long step, string? cursor,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var comm = trainer.Communicator;
        var dir = StepDir(root, step);
        if (File.Exists(Path.Combine(dir, CheckpointManifest.FileName)))
            throw new IOException($"checkpoint {dir} already exists; refusing to overwrite it (use a new --out or step)");
        Directory.CreateDirectory(dir);
        var pieces = trainer.Region.SavePieces();
        var elements = pieces.Sum(p => p.Length);
        var file = ShardFile(comm.Rank, comm.WorldSize);
        var path = Path.Combine(dir, file);
        var tmp = $"{path}.tmp-{Environment.ProcessId}";
        string sha;
        long bytes;
        using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
        using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            var opt = trainer.Optimizer;
            foreach (var t in new[] { opt.Master, opt.ExpAvg, opt.ExpAvgSq })
                foreach (var (_, len, off) in pieces)
                {
                    // As in Safetensors.Write: the scope holds the temporaries (narrow, to, cpu) until the bytes are
                    // read; unreferenced, one could be finalized while libtorch still uses its handle.
                    using var scope = NewDisposeScope();
                    var cpu = t.narrow(0, off, len).to(ScalarType.Float32).cpu().contiguous();
                    var span = MemoryMarshal.AsBytes(cpu.data<float>().ToArray().AsSpan());
                    fs.Write(span);
                    hash.AppendData(span);
                }
            fs.Flush(flushToDisk: true);
            bytes = fs.Length;
            sha = Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        File.Move(tmp, path);
        var shard = new ManifestShard(comm.Rank, file, bytes, sha, elements,
            pieces.Select(p => new[] { p.GlobalStart, p.Length }).ToList());
        WriteAtomic(Path.Combine(dir, $"{file}.json"), System.Text.Json.JsonSerializer.Serialize(shard, CheckpointManifest.Json));
        comm.Barrier();
        if (comm.Rank == 0)
        {
            var shards = Enumerable.Range(0, comm.WorldSize).Select(r =>
            {
                var side = Path.Combine(dir, ShardFile(r, comm.WorldSize) + ".json");
                return System.Text.Json.JsonSerializer.Deserialize<ManifestShard>(File.ReadAllText(side), CheckpointManifest.Json)!;
            }).ToList();
            var layout = trainer.Layout;
            var manifest = new CheckpointManifest(CheckpointManifest.CurrentVersion, step, trainer.Optimizer.StepCount,
                comm.WorldSize, trainer.Zero, layout.Groups.Count, layout.Total,
                layout.Params.Select(p => new ManifestParam(p.Name, p.Shape, p.Offset, p.Group)).ToList(),
                shards, cursor, metadata ?? new Dictionary<string, string>(), DateTimeOffset.UtcNow);
            WriteAtomic(Path.Combine(dir, CheckpointManifest.FileName), manifest.ToJson());
            foreach (var s in shards) File.Delete(Path.Combine(dir, s.File + ".json"));
        }
        comm.Barrier();
        return dir;
    }

    /// <summary>
    /// Collective: loads <paramref name="dir"/> into <paramref name="trainer"/> at the trainer's world size and
    /// ZeRO stage, whatever they were at save time. Checks the layout and every shard's SHA-256 first.
    /// </summary>
    public static CheckpointManifest Load(string dir, StepEngine trainer)
    {
        var m = CheckpointManifest.Read(dir);
        CheckLayout(m, trainer, dir);
        var needed = trainer.Region.LoadPieces();
        var index = m.Shards
            .SelectMany(s => Offsets(s).Select(p => (Shard: s, p.Start, p.Length, p.Local)))
            .OrderBy(p => p.Start).ToList();
        var touched = index.Where(p => needed.Any(n => p.Start < n.GlobalStart + n.Length && n.GlobalStart < p.Start + p.Length))
            .Select(p => p.Shard).Distinct().ToList();
        foreach (var s in touched) Verify(dir, s);
        var opt = trainer.Optimizer;
        var targets = new[] { opt.Master, opt.ExpAvg, opt.ExpAvgSq };
        var handles = touched.ToDictionary(s => s.Rank, s => File.OpenHandle(Path.Combine(dir, s.File)));
        try
        {
            using var _ = no_grad();
            foreach (var (gStart, len, regionOff) in needed)
                foreach (var p in index)
                {
                    var lo = Math.Max(gStart, p.Start);
                    var hi = Math.Min(gStart + len, p.Start + p.Length);
                    if (lo >= hi) continue;
                    for (var k = 0; k < 3; k++)
                    {
                        var values = new float[hi - lo];
                        var pos = (k * p.Shard.Elements + p.Local + (lo - p.Start)) * sizeof(float);
                        ReadExactly(handles[p.Shard.Rank], MemoryMarshal.AsBytes(values.AsSpan()), pos, dir, p.Shard.File);
                        using var src = tensor(values);
                        using var dst = targets[k].narrow(0, regionOff + (lo - gStart), hi - lo); // held until the copy has run
                        dst.copy_(src);
                    }
                }
        }
        finally
        {
            foreach (var h in handles.Values) h.Dispose();
        }
        opt.StepCount = m.OptimizerStep;
        trainer.PublishParameters();
        trainer.Communicator.Barrier();
        return m;
    }

    /// <summary>The newest checkpoint under <paramref name="root"/> whose manifest exists and whose shards all match their checksums; null if none. <paramref name="skipped"/> says why others were passed over.</summary>
    public static string? FindLatestValid(string root, List<string>? skipped = null)
    {
        if (!Directory.Exists(root)) return null;
        foreach (var dir in Directory.GetDirectories(root, "step-*").OrderByDescending(d => d, StringComparer.Ordinal))
        {
            try
            {
                var m = CheckpointManifest.Read(dir);
                foreach (var s in m.Shards) Verify(dir, s);
                return dir;
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                skipped?.Add($"{dir}: {e.Message}");
            }
        }
        return null;
    }

    static IEnumerable<(long Start, long Length, long Local)> Offsets(ManifestShard s)
    {
        long local = 0;
        foreach (var p in s.Pieces)
        {
            yield return (p[0], p[1], local);
            local += p[1];
        }
    }

    static void CheckLayout(CheckpointManifest m, StepEngine trainer, string dir)
    {
        var mine = trainer.Layout.Params;
        if (m.Parameters.Count != mine.Count)
            throw new InvalidDataException($"checkpoint {dir} has {m.Parameters.Count} parameters, this model {mine.Count}: it was saved from a different model");
        for (var i = 0; i < mine.Count; i++)
            if (m.Parameters[i].Name != mine[i].Name || !m.Parameters[i].Shape.SequenceEqual(mine[i].Shape))
                throw new InvalidDataException($"checkpoint {dir}: parameter {i} is {m.Parameters[i].Name} [{string.Join(",", m.Parameters[i].Shape)}], " +
                                               $"this model has {mine[i].Name} [{string.Join(",", mine[i].Shape)}]: it was saved from a different model");
    }

    static void Verify(string dir, ManifestShard s)
    {
        var path = Path.Combine(dir, s.File);
        if (!File.Exists(path)) throw new InvalidDataException($"checkpoint {dir}: shard {s.File} is missing");
        if (new FileInfo(path).Length != s.Bytes)
            throw new InvalidDataException($"checkpoint {dir}: shard {s.File} has {new FileInfo(path).Length} bytes, the manifest says {s.Bytes} (partial write)");
        using var fs = File.OpenRead(path);
        var sha = Convert.ToHexStringLower(SHA256.HashData(fs));
        if (sha != s.Sha256)
            throw new InvalidDataException($"checkpoint {dir}: shard {s.File} fails its SHA-256 check (corrupt); an older checkpoint may still be valid");
    }

    static void ReadExactly(SafeFileHandle h, Span<byte> buf, long pos, string dir, string file)
    {
        while (buf.Length > 0)
        {
            var n = RandomAccess.Read(h, buf, pos);
            if (n == 0) throw new InvalidDataException($"checkpoint {dir}: shard {file} ends early");
            buf = buf[n..];
            pos += n;
        }
    }

    static void WriteAtomic(string path, string text)
    {
        var tmp = $"{path}.tmp-{Environment.ProcessId}";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write))
        using (var w = new StreamWriter(fs))
        {
            w.Write(text);
            w.Flush();
            fs.Flush(flushToDisk: true);
        }
        File.Move(tmp, path, overwrite: true);
    }
}
