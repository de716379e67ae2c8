using System.Runtime.InteropServices;
using cudaError_t = int;
using cudaStream_t = nint;
using cudaEvent_t = nint;

namespace Orchestrator.Sharding.Interop;

/// <summary>The few libcudart calls the NCCL communicator needs: a stream of its own and events to order it against compute.</summary>
static partial class CudaRuntimeNative
{
    public const cudaError_t Success = 0, ErrorNotReady = 600;
    public const uint StreamNonBlocking = 0x01, EventDisableTiming = 0x02;
    /// <summary>The legacy default stream, which TorchSharp's kernels run on.</summary>
    public const cudaStream_t DefaultStream = 0;

    const string Lib = NativeLibraries.CudaRuntime;

    [LibraryImport(Lib)] public static partial cudaError_t cudaGetDeviceCount(out int count);
    [LibraryImport(Lib)] public static partial cudaError_t cudaSetDevice(int device);
    [LibraryImport(Lib)] public static partial cudaError_t cudaDeviceSynchronize();
    [LibraryImport(Lib)] public static partial cudaError_t cudaStreamCreate(out cudaStream_t stream);
    [LibraryImport(Lib)] public static partial cudaError_t cudaStreamCreateWithFlags(out cudaStream_t stream, uint flags);
    [LibraryImport(Lib)] public static partial cudaError_t cudaStreamSynchronize(cudaStream_t stream);
    [LibraryImport(Lib)] public static partial cudaError_t cudaStreamDestroy(cudaStream_t stream);
    [LibraryImport(Lib)] public static partial cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t evt, uint flags);
    [LibraryImport(Lib)] public static partial cudaError_t cudaEventCreate(out cudaEvent_t evt);
    [LibraryImport(Lib)] public static partial cudaError_t cudaEventCreateWithFlags(out cudaEvent_t evt, uint flags);
    [LibraryImport(Lib)] public static partial cudaError_t cudaEventRecord(cudaEvent_t evt, cudaStream_t stream);
    [LibraryImport(Lib)] public static partial cudaError_t cudaEventSynchronize(cudaEvent_t evt);
    [LibraryImport(Lib)] public static partial cudaError_t cudaEventQuery(cudaEvent_t evt);
    [LibraryImport(Lib)] public static partial cudaError_t cudaEventElapsedTime(out float ms, cudaEvent_t start, cudaEvent_t end);
    [LibraryImport(Lib)] public static partial cudaError_t cudaEventDestroy(cudaEvent_t evt);
    [LibraryImport(Lib)] public static partial cudaError_t cudaMemGetInfo(out nuint free, out nuint total);
    [LibraryImport(Lib)] public static partial nint cudaGetErrorString(cudaError_t error);

    public static void Check(cudaError_t rc, string call)
    {
        if (rc != Success)
            throw new CudaException($"{call} failed: {Marshal.PtrToStringUTF8(cudaGetErrorString(rc)) ?? "error " + rc} (cudaError {rc})");
    }
}

/// <summary>A CUDA runtime call failed; the message names the call and the error.</summary>
public sealed class CudaException(string message) : Exception(message);
