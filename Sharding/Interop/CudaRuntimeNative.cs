using System.Runtime.InteropServices;
using cudaError_t = int;

namespace Orchestrator.Sharding.Interop;

/// <summary>
/// The few libcudart calls this project makes: the NCCL communicator's stream and the events that order it against
/// compute, timing events, and the device's memory figure. The raw imports are private and take
/// <see cref="CudaStreamHandle"/> / <see cref="CudaEventHandle"/> (the marshaller holds a reference for each call,
/// so nothing is destroyed under a call); callers use the typed wrappers, which check every result.
/// </summary>
static partial class CudaRuntimeNative
{
    public const cudaError_t Success = 0, ErrorNotReady = 600;
    const uint StreamNonBlocking = 0x01, EventDisableTiming = 0x02;

    const string Lib = NativeLibraries.CudaRuntime;

    [LibraryImport(Lib)] private static partial cudaError_t cudaSetDevice(int device);
    [LibraryImport(Lib)] private static partial cudaError_t cudaDeviceSynchronize();
    [LibraryImport(Lib)] private static partial cudaError_t cudaStreamCreateWithFlags(out CudaStreamHandle stream, uint flags);
    [LibraryImport(Lib)] private static partial cudaError_t cudaStreamSynchronize(CudaStreamHandle stream);
    [LibraryImport(Lib)] private static partial cudaError_t cudaStreamWaitEvent(CudaStreamHandle stream, CudaEventHandle evt, uint flags);
    [LibraryImport(Lib)] private static partial cudaError_t cudaEventCreateWithFlags(out CudaEventHandle evt, uint flags);
    [LibraryImport(Lib)] private static partial cudaError_t cudaEventRecord(CudaEventHandle evt, CudaStreamHandle stream);
    [LibraryImport(Lib)] private static partial cudaError_t cudaEventSynchronize(CudaEventHandle evt);
    [LibraryImport(Lib)] private static partial cudaError_t cudaEventQuery(CudaEventHandle evt);
    [LibraryImport(Lib)] private static partial cudaError_t cudaEventElapsedTime(out float ms, CudaEventHandle start, CudaEventHandle end);
    [LibraryImport(Lib)] private static partial cudaError_t cudaMemGetInfo(out nuint free, out nuint total);
    [LibraryImport(Lib)] private static partial nint cudaGetErrorString(cudaError_t error);

    public static void SetDevice(int device) => Check(cudaSetDevice(device), $"cudaSetDevice({device})");

    public static void DeviceSynchronize() => Check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");

    /// <summary>cudaDeviceSynchronize's result, unchecked: for clean-up paths that must not throw.</summary>
    public static cudaError_t TryDeviceSynchronize() => cudaDeviceSynchronize();

    /// <summary>A stream that does not synchronise with the legacy default stream.</summary>
    public static CudaStreamHandle CreateStream()
    {
        Check(cudaStreamCreateWithFlags(out var stream, StreamNonBlocking), "cudaStreamCreateWithFlags");
        return stream;
    }

    public static void StreamSynchronize(CudaStreamHandle stream) => Check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");

    /// <summary>Work queued on <paramref name="stream"/> from now on waits until the device has passed <paramref name="evt"/>.</summary>
    public static void StreamWaitEvent(CudaStreamHandle stream, CudaEventHandle evt) => Check(cudaStreamWaitEvent(stream, evt, 0), "cudaStreamWaitEvent");

    /// <summary>An event; <paramref name="timing"/> false makes it cheaper (it can order streams but not time them).</summary>
    public static CudaEventHandle CreateEvent(bool timing)
    {
        Check(cudaEventCreateWithFlags(out var evt, timing ? 0 : EventDisableTiming), "cudaEventCreateWithFlags");
        return evt;
    }

    public static void EventRecord(CudaEventHandle evt, CudaStreamHandle stream) => Check(cudaEventRecord(evt, stream), "cudaEventRecord");

    public static void EventSynchronize(CudaEventHandle evt) => Check(cudaEventSynchronize(evt), "cudaEventSynchronize");

    /// <summary>Success once the device has passed the event, <see cref="ErrorNotReady"/> before, else the error.</summary>
    public static cudaError_t EventQuery(CudaEventHandle evt) => cudaEventQuery(evt);

    /// <summary>GPU milliseconds between two completed timing events.</summary>
    public static float ElapsedMilliseconds(CudaEventHandle start, CudaEventHandle end)
    {
        Check(cudaEventElapsedTime(out var ms, start, end), "cudaEventElapsedTime");
        return ms;
    }

    public static (nuint Free, nuint Total) MemGetInfo()
    {
        Check(cudaMemGetInfo(out var free, out var total), "cudaMemGetInfo");
        return (free, total);
    }

    public static string ErrorString(cudaError_t rc) => Marshal.PtrToStringUTF8(cudaGetErrorString(rc)) ?? "error " + rc;

    public static void Check(cudaError_t rc, string call)
    {
        if (rc != Success) throw new CudaException($"{call} failed: {ErrorString(rc)} (cudaError {rc})");
    }
}

/// <summary>A CUDA runtime call failed; the message names the call and the error.</summary>
public sealed class CudaException(string message) : Exception(message);
