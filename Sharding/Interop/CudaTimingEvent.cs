namespace Orchestrator.Sharding.Interop;

/// <summary>
/// A CUDA event with timing, recorded on the default stream (where TorchSharp's kernels run): the safe facade for
/// measuring GPU time between two points of the stream without synchronising the host at each of them.
/// </summary>
public sealed class CudaTimingEvent : IDisposable
{
    nint _event;

    public CudaTimingEvent()
    {
        NativeLibraries.Register();
        CudaRuntimeNative.Check(CudaRuntimeNative.cudaEventCreate(out _event), "cudaEventCreate");
    }

    /// <summary>Marks the point the default stream has reached in the work queued so far.</summary>
    public void Record() => CudaRuntimeNative.Check(CudaRuntimeNative.cudaEventRecord(Handle, CudaRuntimeNative.DefaultStream), "cudaEventRecord");

    /// <summary>Blocks the host until the stream has passed this event.</summary>
    public void Synchronize() => CudaRuntimeNative.Check(CudaRuntimeNative.cudaEventSynchronize(Handle), "cudaEventSynchronize");

    /// <summary>GPU milliseconds from <paramref name="start"/> to this event (both recorded and completed).</summary>
    public double MillisecondsSince(CudaTimingEvent start)
    {
        CudaRuntimeNative.Check(CudaRuntimeNative.cudaEventElapsedTime(out var ms, start.Handle, Handle), "cudaEventElapsedTime");
        return ms;
    }

    nint Handle => _event != 0 ? _event : throw new ObjectDisposedException(nameof(CudaTimingEvent));

    public void Dispose()
    {
        if (_event == 0) return;
        CudaRuntimeNative.cudaEventDestroy(_event);
        _event = 0;
    }
}
