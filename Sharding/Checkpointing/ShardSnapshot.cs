using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Orchestrator.Sharding.Engine;
using Orchestrator.Sharding.Interop;
using Orchestrator.Sharding.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Checkpointing;

/// <summary>
/// This rank's part of a checkpoint in host memory: its save pieces (<see cref="OptimizerRegion.SavePieces"/>) of
/// every optimizer buffer, copied from the device by <see cref="Capture"/> on the training thread, then written by a
/// background thread while training goes on. The buffers are allocated once (pinned on CUDA, so the copy runs at
/// full PCIe speed) and reused by every checkpoint of the run. Risk: the background thread reads raw host memory;
/// the owner must not call <see cref="Capture"/> or <see cref="Dispose"/> while a write of it is in flight (the
/// checkpoint writer waits for the previous write first).
/// </summary>
public sealed class ShardSnapshot : IDisposable
{
    readonly StepEngine _engine;
    readonly Tensor[] _host;
    readonly IReadOnlyList<(long GlobalStart, long Length, long RegionOffset)> _pieces;

    public int Rank { get; }
    public int WorldSize { get; }
    public int Zero { get; }
    public FlatLayout Layout { get; }
    public IReadOnlyList<string> Buffers { get; }
    public long Elements { get; }
    public long Step { get; private set; }
    public long OptimizerStep { get; private set; }

    /// <summary>Bytes of this rank's shard file.</summary>
    public long Bytes => Elements * sizeof(float) * _host.Length;

    /// <summary>The [global start, length] pieces, in file order.</summary>
    public IReadOnlyList<long[]> Pieces => _pieces.Select(p => new[] { p.GlobalStart, p.Length }).ToList();

    public ShardSnapshot(StepEngine engine)
    {
        _engine = engine;
        Rank = engine.Rank;
        WorldSize = engine.Communicator.WorldSize;
        Zero = engine.Zero;
        Layout = engine.Layout;
        _pieces = engine.Region.SavePieces();
        Elements = _pieces.Sum(p => p.Length);
        var buffers = engine.Optimizer.StateBuffers;
        Buffers = buffers.Select(b => b.Name).ToList();
        bool pin = engine.Optimizer.Master.device_type == DeviceType.CUDA;
        _host = buffers.Select(_ =>
        {
            var t = empty(Math.Max(Elements, 1), dtype: ScalarType.Float32);
            if (!pin) return t.DetachFromDisposeScope();
            try
            {
                var pinned = t.pin_memory();
                t.Dispose();
                return pinned.DetachFromDisposeScope();
            }
            catch (ExternalException)
            {
                return t.DetachFromDisposeScope(); // the host cannot pin this much: pageable memory, a slower copy
            }
        }).ToArray();
    }

    /// <summary>Training thread, between steps: copies this rank's pieces of every buffer to host memory (a device sync).</summary>
    public void Capture(long step)
    {
        var buffers = _engine.Optimizer.StateBuffers;
        using var scope = NewDisposeScope(); // the narrows, held until their copies have run
        using var _ = no_grad();
        for (var k = 0; k < buffers.Count; k++)
        {
            long local = 0;
            foreach (var (_, length, regionOffset) in _pieces)
            {
                _host[k].narrow(0, local, length).copy_(buffers[k].Region.narrow(0, regionOffset, length));
                local += length;
            }
        }
        Step = step;
        OptimizerStep = _engine.Optimizer.StepCount;
    }

    /// <summary>Any thread: the shard's bytes (every buffer in order) to <paramref name="output"/> and <paramref name="sha"/>.</summary>
    public unsafe void WriteTo(Stream output, IncrementalHash sha)
    {
        const long chunk = 1 << 26;
        foreach (var t in _host)
        {
            if (Elements == 0) break;
            var p = (byte*)LibTorchSharpNative.DataPointer(t);
            long total = Elements * sizeof(float);
            for (long at = 0; at < total; at += chunk)
            {
                var span = new ReadOnlySpan<byte>(p + at, (int)Math.Min(chunk, total - at));
                output.Write(span);
                sha.AppendData(span);
            }
            GC.KeepAlive(t);
        }
    }

    public void Dispose()
    {
        foreach (var t in _host) t.Dispose();
    }
}
