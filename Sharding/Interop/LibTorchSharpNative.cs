using System.Runtime.InteropServices;
using TorchSharp;

namespace Orchestrator.Sharding.Interop;

/// <summary>
/// The one LibTorchSharp export TorchSharp does not surface: a tensor's raw data pointer (<c>THSTensor_data</c>,
/// <c>data_ptr()</c> with the storage offset applied, for every dtype). The pointer is valid while the tensor's
/// storage is: the caller keeps the tensor alive and unresized for as long as it uses it.
/// </summary>
static partial class LibTorchSharpNative
{
    [LibraryImport("LibTorchSharp")]
    private static partial nint THSTensor_data(nint tensor);

    public static nint DataPointer(torch.Tensor tensor)
    {
        var pointer = THSTensor_data(tensor.Handle);
        GC.KeepAlive(tensor); // the handle must not be freed by a finalizer during the call
        return pointer;
    }
}
