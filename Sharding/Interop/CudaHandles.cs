using System.Runtime.InteropServices;
using cudaError_t = int;
using cudaStream_t = nint;
using cudaEvent_t = nint;

namespace Orchestrator.Sharding.Interop;

/// <summary>
/// A cudaStream_t. Owned streams (from <see cref="CudaRuntimeNative.CreateStream"/>) are destroyed once, when the
/// handle is disposed or finalized and no call still holds it: bindings take the handle itself, so the marshaller
/// adds a reference for the length of each call, and a stream cannot be destroyed under a call that uses it.
/// Borrowed streams (the legacy default stream, libtorch's pool streams) are never destroyed here.
/// </summary>
public sealed partial class CudaStreamHandle : SafeHandle
{
    readonly bool _owned;

    /// <summary>For the marshaller (an out parameter): an owned handle it fills in.</summary>
    public CudaStreamHandle() : base(0, ownsHandle: true) => _owned = true;

    CudaStreamHandle(cudaStream_t stream) : base(0, ownsHandle: false) => SetHandle(stream);

    /// <summary>The legacy default stream (0), which TorchSharp's kernels run on.</summary>
    public static CudaStreamHandle Default { get; } = new(0);

    /// <summary>A stream someone else owns and destroys (libtorch's pool streams).</summary>
    public static CudaStreamHandle Borrow(cudaStream_t stream) => new(stream);

    public override bool IsInvalid => _owned && handle == 0;

    protected override bool ReleaseHandle() => cudaStreamDestroy(handle) == CudaRuntimeNative.Success;

    [LibraryImport(NativeLibraries.CudaRuntime)] private static partial cudaError_t cudaStreamDestroy(cudaStream_t stream);
}

/// <summary>
/// A cudaEvent_t, destroyed once when disposed or finalized and no call holds it (the marshaller's reference), so an
/// event that a watchdog destroys cannot vanish under a <c>cudaStreamWaitEvent</c> another thread is making.
/// Destroying an event the device has not reached yet is allowed: CUDA releases it once it completes.
/// </summary>
public sealed partial class CudaEventHandle : SafeHandle
{
    public CudaEventHandle() : base(0, ownsHandle: true) { }

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle() => cudaEventDestroy(handle) == CudaRuntimeNative.Success;

    [LibraryImport(NativeLibraries.CudaRuntime)] private static partial cudaError_t cudaEventDestroy(cudaEvent_t evt);
}
