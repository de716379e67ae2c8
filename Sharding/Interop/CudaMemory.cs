namespace Orchestrator.Sharding.Interop;

/// <summary>
/// Device memory in use as the driver sees it (cudaMemGetInfo: total - free), after the device has finished its
/// queued work. With libtorch's caching allocator on, this includes blocks it keeps cached; run with
/// <c>PYTORCH_NO_CUDA_MEMORY_CACHING=1</c> and it is what is allocated (plus the context and NCCL's buffers, which a
/// baseline taken before the model exists removes). TorchSharp binds no allocator statistics.
/// </summary>
public static class CudaMemory
{
    public static long UsedBytes()
    {
        NativeLibraries.Register();
        CudaRuntimeNative.DeviceSynchronize();
        var (free, total) = CudaRuntimeNative.MemGetInfo();
        return (long)(total - free);
    }
}
