using System.Numerics;
using System.Runtime.InteropServices;
using Orchestrator.Sharding.Communication;

namespace Orchestrator.Sharding.Ring;

/// <summary>
/// Element-wise sum and scaling on raw host memory for the ring. bf16 is summed in fp32 and rounded back to
/// nearest-even at each hop, as NCCL does, so results can differ from an fp32 sum by bf16 rounding.
/// </summary>
static unsafe class Reducers
{
    public static void AddInto(ElementKind kind, nint dst, nint src, long count)
    {
        if (kind == ElementKind.Float32) AddFloat(new Span<float>((void*)dst, checked((int)count)), new ReadOnlySpan<float>((void*)src, (int)count));
        else AddBf16(new Span<ushort>((void*)dst, checked((int)count)), new ReadOnlySpan<ushort>((void*)src, (int)count));
    }

    public static void Divide(ElementKind kind, nint data, long count, int divisor)
    {
        if (kind == ElementKind.Float32)
        {
            var s = new Span<float>((void*)data, checked((int)count));
            for (var i = 0; i < s.Length; i++) s[i] /= divisor;
        }
        else
        {
            var s = new Span<ushort>((void*)data, checked((int)count));
            for (var i = 0; i < s.Length; i++) s[i] = ToBf16(FromBf16(s[i]) / divisor);
        }
    }

    static void AddFloat(Span<float> dst, ReadOnlySpan<float> src)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vd = MemoryMarshal.Cast<float, Vector<float>>(dst);
            var vs = MemoryMarshal.Cast<float, Vector<float>>(src);
            for (var k = 0; k < vd.Length; k++) vd[k] += vs[k];
            i = vd.Length * Vector<float>.Count;
        }
        for (; i < dst.Length; i++) dst[i] += src[i];
    }

    static void AddBf16(Span<ushort> dst, ReadOnlySpan<ushort> src)
    {
        for (var i = 0; i < dst.Length; i++) dst[i] = ToBf16(FromBf16(dst[i]) + FromBf16(src[i]));
    }

    public static float FromBf16(ushort b) => BitConverter.Int32BitsToSingle(b << 16);

    public static ushort ToBf16(float f)
    {
        var bits = (uint)BitConverter.SingleToInt32Bits(f);
        if (float.IsNaN(f)) return (ushort)((bits >> 16) | 0x40); // keep it a quiet NaN
        bits += 0x7FFFu + ((bits >> 16) & 1u); // round to nearest, ties to even
        return (ushort)(bits >> 16);
    }
}
