using static TorchSharp.torch;

namespace Orchestrator.Tensors;

/// <summary>Parameter-shaped views into flat buffers (the layout behind DDP buckets, ZeRO shards and the optimizers).</summary>
public static class FlatViews
{
    /// <summary>
    /// Elements [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="length"/>) of a 1-D buffer as a
    /// tensor of <paramref name="shape"/>, sharing its storage. The intermediate slice is disposed here, once view()
    /// has run: left to a caller's dispose scope it would keep the storage alive after the view is gone, and with no
    /// scope at all the GC could finalize it while libtorch still used it.
    /// </summary>
    public static Tensor ViewOf(this Tensor flat, long offset, long length, long[] shape)
    {
        using var slice = flat.narrow(0, offset, length);
        return slice.view(shape);
    }
}
