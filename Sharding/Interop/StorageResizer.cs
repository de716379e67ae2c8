using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Interop;

/// <summary>
/// Frees a tensor's storage and allocates it again in place, what PyTorch's <c>untyped_storage().resize_(n)</c>
/// does and what FSDP uses to free gathered parameters between forward and backward: every tensor that shares the
/// storage (parameter views, the views autograd saved for backward) keeps pointing at it, so the memory can go
/// away after a stage's forward and come back, gathered again, before its backward. TorchSharp 0.107 binds no
/// storage resize, so this calls libtorch's own <c>at::native::resize_bytes_cpu</c> / <c>resize_bytes_cuda</c>
/// (exported C++ functions taking the <c>c10::StorageImpl*</c>).
///
/// The StorageImpl is read from TorchSharp's tensor handle (an <c>at::Tensor*</c>, whose first word is the
/// <c>TensorImpl*</c>, whose first member after the refcounted header is the storage pointer). That layout is
/// libtorch's, not an API, so it is checked: the StorageImpl found must hold the tensor's data pointer where
/// <c>c10::DataPtr</c> keeps it, on every call, and <see cref="TryCreate"/> runs a forward/free/allocate/backward
/// smoke test on the device. When any check fails the caller gets null and a reason (ZeRO-3 then recomputes).
/// </summary>
public sealed unsafe class StorageResizer
{
    const int TensorImplStorageOffset = 16;  // after the vtable and intrusive_ptr_target's 64-bit refcount word
    const int StorageImplDataOffset = 16;    // c10::StorageImpl: vtable, refcount word, then DataPtr's void* data_

    readonly delegate* unmanaged<nint, nuint, void> _resizeBytes;
    readonly delegate* unmanaged<nint, nint> _dataPtr;
    readonly delegate* unmanaged<nint, nuint> _nbytes;

    StorageResizer(nint resizeBytes, nint dataPtr, nint nbytes)
    {
        _resizeBytes = (delegate* unmanaged<nint, nuint, void>)resizeBytes;
        _dataPtr = (delegate* unmanaged<nint, nint>)dataPtr;
        _nbytes = (delegate* unmanaged<nint, nuint>)nbytes;
    }

    /// <summary>A resizer for tensors on <paramref name="device"/>, or null with the reason it cannot work here.</summary>
    public static StorageResizer? TryCreate(Device device, out string? reason)
    {
        reason = null;
        var (library, symbol) = device.type switch
        {
            DeviceType.CPU => ("libtorch_cpu.so", "_ZN2at6native16resize_bytes_cpuEPN3c1011StorageImplEm"),
            DeviceType.CUDA => ("libtorch_cuda.so", "_ZN2at6native17resize_bytes_cudaEPN3c1011StorageImplEm"),
            _ => ("", ""),
        };
        if (library.Length == 0) { reason = $"no storage resize for {device.type} tensors"; return null; }
        try
        {
            using var warm = zeros(1, device: device); // libtorch is loaded (TorchSharp loads it lazily)
            // Both libraries are loaded by now (TorchSharp's dependencies); by name, the loader hands back those.
            if (!NativeLibrary.TryLoad(library, out var torchLib) || !NativeLibrary.TryGetExport(torchLib, symbol, out var resize))
            { reason = $"{library} exports no at::native::resize_bytes for this device"; return null; }
            if (!NativeLibrary.TryLoad("libLibTorchSharp.so", out var sharp)
                || !NativeLibrary.TryGetExport(sharp, "THSStorage_data_ptr", out var dataPtr)
                || !NativeLibrary.TryGetExport(sharp, "THSStorage_nbytes", out var nbytes))
            { reason = "libLibTorchSharp.so exports no THSStorage_data_ptr / THSStorage_nbytes"; return null; }
            var resizer = new StorageResizer(resize, dataPtr, nbytes);
            return resizer.SmokeTest(device, out reason) ? resizer : null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            reason = "storage resize unavailable: " + e.Message.Split('\n')[0];
            return null;
        }
    }

    /// <summary>Frees the storage of <paramref name="whole"/> (which must span all of it); its views stay valid objects.</summary>
    public void Free(Tensor whole)
    {
        var storage = StorageOf(whole);
        if (_nbytes(whole.Handle) == 0) return;
        _resizeBytes(storage, 0);
    }

    /// <summary>Allocates the storage of <paramref name="whole"/> again (contents undefined), after <see cref="Free"/>.</summary>
    public void Allocate(Tensor whole)
    {
        var bytes = (nuint)(whole.numel() * whole.element_size());
        var storage = StorageOf(whole);
        var held = _nbytes(whole.Handle);
        if (held == bytes) return;
        if (held != 0) throw new InvalidOperationException($"storage holds {held} bytes, neither freed nor the tensor's {bytes}");
        // libtorch throws a C++ exception when an allocation fails, and nothing catches one thrown through this direct
        // call (the process would abort). On CUDA a block of the same size is therefore allocated through TorchSharp
        // first, where running out of memory is a managed exception, and handed back to the caching allocator, whose
        // next allocation of that size on this stream (the resize below) reuses it.
        if (whole.device_type == DeviceType.CUDA)
            using (empty((long)bytes, dtype: ScalarType.Byte, device: whole.device)) { }
        _resizeBytes(storage, bytes);
        if (_nbytes(whole.Handle) != bytes || _dataPtr(whole.Handle) == 0)
            throw new InvalidOperationException($"storage resize to {bytes} bytes did not take (holds {_nbytes(whole.Handle)})");
    }

    /// <summary>True when the storage of <paramref name="whole"/> holds no memory.</summary>
    public bool IsFreed(Tensor whole) => _nbytes(whole.Handle) == 0;

    nint StorageOf(Tensor whole)
    {
        if (whole.Handle == 0) throw new ObjectDisposedException(nameof(whole));
        if (whole.storage_offset() != 0 || !whole.is_contiguous())
            throw new ArgumentException("resize needs the tensor that spans its whole storage (offset 0, contiguous)");
        var tensorImpl = *(nint*)whole.Handle;
        var storage = *(nint*)(tensorImpl + TensorImplStorageOffset);
        var data = _dataPtr(whole.Handle);
        if (storage == 0 || *(nint*)(storage + StorageImplDataOffset) != data)
            throw new InvalidOperationException("libtorch's tensor layout is not the one this resizer was written for (the storage's data pointer is not where c10::DataPtr keeps it)");
        var nbytes = _nbytes(whole.Handle);
        if (nbytes != 0 && nbytes != (nuint)(whole.numel() * whole.element_size()))
            throw new ArgumentException($"the tensor spans {whole.numel() * whole.element_size()} of its storage's {nbytes} bytes; resize needs all of it");
        return storage;
    }

    // y = x·Wᵀ with W a view of a buffer; the buffer is freed after the forward, allocated and refilled with 10x the
    // values before the backward: x's gradient must come from the new values (autograd's saved view follows the
    // storage) and W's from x.
    bool SmokeTest(Device device, out string? reason)
    {
        reason = null;
        using var scope = NewDisposeScope();
        using var grad = enable_grad(); // the caller may be inside no_grad (a trainer's constructor is)
        using var buf = arange(8, dtype: ScalarType.Float32, device: device);
        var w = new TorchSharp.Modules.Parameter(zeros(2, 3, device: device));
        using (no_grad()) w.set_(buf.narrow(0, 0, 6).view(2, 3));
        var x = ones(4, 3, device: device).requires_grad_(true);
        var loss = nn.functional.linear(x, w).sum();
        Free(buf);
        if (!IsFreed(buf)) { reason = "storage resize smoke test: the storage was not freed"; return false; }
        Allocate(buf);
        using (no_grad())
        {
            using var ten = arange(8, dtype: ScalarType.Float32, device: device).mul_(10);
            buf.copy_(ten);
        }
        loss.backward();
        float[] gx = x.grad!.cpu().data<float>().ToArray(), gw = w.grad!.cpu().data<float>().ToArray();
        var ok = gx.Length == 12 && gx.Select((v, i) => v == new[] { 30f, 50f, 70f }[i % 3]).All(b => b) && gw.All(v => v == 4f);
        if (!ok) reason = $"storage resize smoke test gave x.grad = [{string.Join(", ", gx)}], W.grad = [{string.Join(", ", gw)}]";
        return ok;
    }
}
