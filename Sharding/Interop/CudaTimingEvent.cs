namespace Orchestrator.Sharding.Interop;

/// <summary>
/// A CUDA event with timing, recorded on the default stream (where TorchSharp's kernels run): the safe facade for
/// measuring GPU time between two points of the stream without synchronising the host at each of them.
/// </summary>
public sealed class CudaTimingEvent : IDisposable
{
    readonly CudaEventHandle _event;

    public CudaTimingEvent()
    {
        NativeLibraries.Register();
        _event = CudaRuntimeNative.CreateEvent(timing: true);
    }

    /// <summary>Marks the point the default stream has reached in the work queued so far.</summary>
    public void Record() => CudaRuntimeNative.EventRecord(_event, CudaStreamHandle.Default);

    /// <summary>Blocks the host until the stream has passed this event.</summary>
    public void Synchronize() => CudaRuntimeNative.EventSynchronize(_event);

    /// <summary>GPU milliseconds from <paramref name="start"/> to this event (both recorded and completed).</summary>
    public double MillisecondsSince(CudaTimingEvent start) => CudaRuntimeNative.ElapsedMilliseconds(start._event, _event);

    public void Dispose() => _event.Dispose();
}
