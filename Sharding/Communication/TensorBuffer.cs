using Orchestrator.Sharding.Interop;
using TorchSharp;

namespace Orchestrator.Sharding.Communication;

/// <summary>Element types the collectives reduce; byte-copying collectives accept any dtype.</summary>
public enum ElementKind { Float32, BFloat16, Other }

/// <summary>
/// The raw view of a tensor a collective works on: its data pointer (host memory for the ring, device memory for
/// NCCL), element count and size. Taken through LibTorchSharp's <c>THSTensor_data</c>, which returns
/// <c>data_ptr()</c> with the storage offset applied for every dtype, bf16 included.
/// </summary>
public readonly record struct TensorBuffer(nint Pointer, long Count, int ElementSize, ElementKind Kind, torch.ScalarType Dtype)
{
    public long Bytes => Count * ElementSize;

    public static TensorBuffer Of(torch.Tensor t, string what, bool reduce)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (!t.is_contiguous())
            throw new ArgumentException($"{what}: the tensor must be contiguous (call .contiguous() first)");
        var kind = t.dtype switch
        {
            torch.ScalarType.Float32 => ElementKind.Float32,
            torch.ScalarType.BFloat16 => ElementKind.BFloat16,
            _ => ElementKind.Other,
        };
        if (reduce && kind == ElementKind.Other)
            throw new ArgumentException($"{what}: reductions support float32 and bfloat16 tensors, not {t.dtype}");
        var size = (int)t.element_size();
        var ptr = t.numel() == 0 ? 0 : LibTorchSharpNative.DataPointer(t);
        return new TensorBuffer(ptr, t.numel(), size, kind, t.dtype);
    }
}
