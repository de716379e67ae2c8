using System.Runtime.InteropServices;
using cudaError_t = int;
using cudaStream_t = nint;
using cudaGraph_t = nint;

namespace Orchestrator.Sharding.Interop;

/// <summary>The libcudart calls a failed CUDA-graph capture needs to end it without libtorch (which would throw).</summary>
static partial class CudaRuntimeNative
{
    /// <summary>cudaStreamCaptureStatus: not capturing, capturing, or a capture an illegal call has invalidated.</summary>
    public const int CaptureStatusNone = 0, CaptureStatusActive = 1, CaptureStatusInvalidated = 2;

    [LibraryImport(Lib)] public static partial cudaError_t cudaStreamIsCapturing(cudaStream_t stream, out int status);
    [LibraryImport(Lib)] public static partial cudaError_t cudaStreamEndCapture(cudaStream_t stream, out cudaGraph_t graph);
    [LibraryImport(Lib)] public static partial cudaError_t cudaGraphDestroy(cudaGraph_t graph);
    [LibraryImport(Lib)] public static partial cudaError_t cudaGetLastError();
}
