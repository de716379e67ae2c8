using System.Runtime.InteropServices;
using cudaError_t = int;
using cudaStream_t = nint;
using cudaGraph_t = nint;

namespace Orchestrator.Sharding.Interop;

/// <summary>
/// The libcudart calls a CUDA-graph capture needs beside libtorch: its status, and ending a failed capture without
/// libtorch (which would throw through the call). The streams are libtorch's (c10's pool), borrowed
/// (<see cref="CudaStreamHandle.Borrow"/>): nothing here creates or destroys one.
/// </summary>
static partial class CudaRuntimeNative
{
    /// <summary>cudaStreamCaptureStatus: not capturing, capturing, or a capture an illegal call has invalidated.</summary>
    public const int CaptureStatusNone = 0, CaptureStatusActive = 1, CaptureStatusInvalidated = 2;

    [LibraryImport(Lib)] private static partial cudaError_t cudaStreamIsCapturing(CudaStreamHandle stream, out int status);
    [LibraryImport(Lib)] private static partial cudaError_t cudaStreamEndCapture(CudaStreamHandle stream, out cudaGraph_t graph);
    [LibraryImport(Lib)] private static partial cudaError_t cudaGraphDestroy(cudaGraph_t graph);
    [LibraryImport(Lib)] private static partial cudaError_t cudaGetLastError();

    /// <summary>Blocks the host until a borrowed stream (libtorch's) has run everything queued on it.</summary>
    public static void SynchronizeBorrowed(cudaStream_t stream) => Check(TrySynchronizeBorrowed(stream), "cudaStreamSynchronize");

    /// <summary><see cref="SynchronizeBorrowed"/>'s result, unchecked: for clean-up paths that must not throw.</summary>
    public static cudaError_t TrySynchronizeBorrowed(cudaStream_t stream)
    {
        using var borrowed = CudaStreamHandle.Borrow(stream);
        return cudaStreamSynchronize(borrowed);
    }

    /// <summary>The capture status of a borrowed stream (one of the CaptureStatus constants).</summary>
    public static int CaptureStatus(cudaStream_t stream)
    {
        using var borrowed = CudaStreamHandle.Borrow(stream);
        Check(cudaStreamIsCapturing(borrowed, out var status), "cudaStreamIsCapturing");
        return status;
    }

    /// <summary>Ends whatever capture <paramref name="stream"/> is in and drops the recorded work; never throws.</summary>
    public static void DropCapture(cudaStream_t stream)
    {
        using var borrowed = CudaStreamHandle.Borrow(stream);
        if (cudaStreamIsCapturing(borrowed, out var status) == Success && status != CaptureStatusNone
            && cudaStreamEndCapture(borrowed, out var graph) == Success && graph != 0)
            cudaGraphDestroy(graph);
        cudaGetLastError(); // clear the error an invalidated capture leaves behind
    }
}
