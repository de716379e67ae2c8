using Orchestrator.DataPipeline.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Training;

/// <summary>
/// Moves an <see cref="IBatchSource"/>'s batches onto the device. On CUDA the host copy goes through pinned memory
/// and a non-blocking copy, so the transfer overlaps the previous step's kernels (libtorch's caching host allocator
/// keeps the pinned block alive until the copy has run).
/// </summary>
public sealed class BatchFeeder(IBatchSource source, DeviceInfo device) : IDisposable
{
    readonly long[] _x = new long[source.BatchSize * source.BlockSize];
    readonly long[] _y = new long[source.BatchSize * source.BlockSize];

    public IBatchSource Source => source;

    /// <summary>The next (inputs, targets), each (B, T) int64 on the device; owned by the caller's dispose scope.</summary>
    public (Tensor X, Tensor Y) Next()
    {
        source.NextBatch(_x, _y);
        long[] shape = [source.BatchSize, source.BlockSize];
        var x = tensor(_x, shape, ScalarType.Int64);
        var y = tensor(_y, shape, ScalarType.Int64);
        if (!device.IsCuda) return (x, y);
        return (ToDevice(x), ToDevice(y));
    }

    Tensor ToDevice(Tensor host)
    {
        using var pinned = host.pin_memory();
        host.Dispose();
        return pinned.to(device.Device, non_blocking: true);
    }

    public void Dispose() => source.Dispose();
}
