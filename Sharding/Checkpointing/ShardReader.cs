using Microsoft.Win32.SafeHandles;
using Orchestrator.Sharding.Engine;
using Orchestrator.Sharding.Interop;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Checkpointing;

/// <summary>
/// Reads any range of a checkpoint's global flat vector, for any optimizer buffer, from whichever shards hold it:
/// resharding is reading the ranges the reader's layout needs. Data goes from the file into host memory through a
/// bounded chunk (never a whole shard in memory). Invariant: a range the shards do not cover completely is an
/// <see cref="InvalidDataException"/>, never zeros.
/// </summary>
public sealed class ShardReader : IDisposable
{
    const long ChunkElements = 1 << 24; // 64 MB of fp32 per read

    readonly string _dir;
    readonly CheckpointManifest _m;
    readonly List<(ManifestShard Shard, long Start, long Length, long Local)> _index;
    readonly Dictionary<int, SafeFileHandle> _handles = [];

    /// <param name="manifest">The verified manifest of <paramref name="dir"/> (<see cref="ShardedCheckpoint.Verify"/>).</param>
    public ShardReader(string dir, CheckpointManifest manifest)
    {
        _dir = dir;
        _m = manifest;
        _index = manifest.Shards
            .SelectMany(s =>
            {
                long local = 0;
                return s.Pieces.Select(p => { var e = (Shard: s, Start: p[0], Length: p[1], Local: local); local += p[1]; return e; }).ToList();
            })
            .OrderBy(p => p.Start).ToList();
    }

    /// <summary>Reads <paramref name="count"/> fp32 values of buffer <paramref name="buffer"/> from global index <paramref name="start"/> to <paramref name="destination"/>.</summary>
    public unsafe void Read(string buffer, long start, long count, nint destination)
    {
        int k = IndexOf(buffer);
        long covered = 0;
        foreach (var p in _index)
        {
            long lo = Math.Max(start, p.Start), hi = Math.Min(start + count, p.Start + p.Length);
            if (lo >= hi) continue;
            var h = Handle(p.Shard);
            long pos = (k * p.Shard.Elements + p.Local + (lo - p.Start)) * sizeof(float);
            var dst = (byte*)destination + (lo - start) * sizeof(float);
            long bytes = (hi - lo) * sizeof(float);
            while (bytes > 0)
            {
                int n = RandomAccess.Read(h, new Span<byte>(dst, (int)Math.Min(bytes, 1 << 30)), pos);
                if (n == 0) throw new InvalidDataException($"{Path.Combine(_dir, p.Shard.File)} ends early (truncated?)");
                dst += n; pos += n; bytes -= n;
            }
            covered += hi - lo;
        }
        if (covered != count)
            throw new InvalidDataException($"checkpoint {_dir}: its shards cover {covered} of the {count} values from index {start}");
    }

    /// <summary>Restores every optimizer buffer's region of <paramref name="engine"/> and AdamW's step count; publishes the compute parameters.</summary>
    public void LoadInto(StepEngine engine)
    {
        CheckLayout(engine);
        var buffers = engine.Optimizer.StateBuffers;
        foreach (var (name, _) in buffers) IndexOf(name);
        var pieces = engine.Region.LoadPieces();
        long chunkLength = Math.Min(ChunkElements, Math.Max(1, pieces.Select(p => p.Length).DefaultIfEmpty(1).Max()));
        using var chunk = empty(chunkLength, dtype: ScalarType.Float32);
        var at = LibTorchSharpNative.DataPointer(chunk);
        using (no_grad())
        {
            foreach (var (name, region) in buffers)
                foreach (var (globalStart, length, regionOffset) in pieces)
                    for (long off = 0; off < length; off += chunkLength)
                    {
                        long n = Math.Min(chunkLength, length - off);
                        Read(name, globalStart + off, n, at);
                        using var src = chunk.narrow(0, 0, n);
                        using var dst = region.narrow(0, regionOffset + off, n);
                        dst.copy_(src);
                    }
        }
        GC.KeepAlive(chunk);
        engine.Optimizer.StepCount = _m.OptimizerStep;
        engine.PublishParameters();
    }

    /// <summary>The fp32 master weights by parameter name as host tensors the caller owns (evaluation, sampling, export).</summary>
    public Dictionary<string, Tensor> MasterWeights()
    {
        var result = new Dictionary<string, Tensor>();
        try
        {
            foreach (var p in _m.Parameters)
            {
                var t = empty(p.Shape, dtype: ScalarType.Float32).DetachFromDisposeScope();
                result[p.Name] = t;
                if (t.numel() > 0) Read("master", p.Offset, t.numel(), LibTorchSharpNative.DataPointer(t));
                GC.KeepAlive(t);
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    int IndexOf(string buffer)
    {
        for (var i = 0; i < _m.Buffers.Count; i++) if (_m.Buffers[i] == buffer) return i;
        throw new InvalidDataException($"checkpoint {_dir} has no optimizer buffer '{buffer}' (it holds {string.Join(", ", _m.Buffers)})");
    }

    SafeFileHandle Handle(ManifestShard s)
    {
        if (!_handles.TryGetValue(s.Rank, out var h)) _handles[s.Rank] = h = File.OpenHandle(Path.Combine(_dir, s.File));
        return h;
    }

    void CheckLayout(StepEngine engine)
    {
        var mine = engine.Layout.Params;
        if (_m.Parameters.Count != mine.Count)
            throw new InvalidDataException($"checkpoint {_dir} has {_m.Parameters.Count} parameters, this model {mine.Count}: it was saved from a different model");
        for (var i = 0; i < mine.Count; i++)
            if (_m.Parameters[i].Name != mine[i].Name || !_m.Parameters[i].Shape.SequenceEqual(mine[i].Shape) || _m.Parameters[i].Offset != mine[i].Offset)
                throw new InvalidDataException($"checkpoint {_dir}: parameter {i} is {_m.Parameters[i].Name} [{string.Join(",", _m.Parameters[i].Shape)}], " +
                                               $"this model has {mine[i].Name} [{string.Join(",", mine[i].Shape)}]: it was saved from a different model");
    }

    public void Dispose()
    {
        foreach (var h in _handles.Values) h.Dispose();
    }
}
