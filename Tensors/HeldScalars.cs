using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Tensors;

/// <summary>
/// Tensor operations with a number, holding the number's Scalar through the call. TorchSharp turns a double
/// argument into a temporary Scalar that nothing references while libtorch reads it, so a garbage collection at the
/// wrong moment frees it first (the failure the fused AdamW call showed, one in 800 calls under GC pressure; for a
/// plain operator the window is far shorter, but it is on every step). The training step uses these.
/// </summary>
public static class HeldScalars
{
    public static void FillHeld(this Tensor t, double value)
    {
        using Scalar s = value;
        t.fill_(s);
    }

    /// <summary><paramref name="t"/> / <paramref name="divisor"/>; <paramref name="t"/> itself (no kernel) when the divisor is 1.</summary>
    public static Tensor DivHeld(this Tensor t, double divisor)
    {
        if (divisor == 1) return t;
        using Scalar s = divisor;
        return t.div(s);
    }

    /// <summary>
    /// The clip as a divisor: max(1, (norm + 1e-6) / clip) as a one-element tensor. Dividing the gradients by it is
    /// PyTorch's clip_grad_norm_ (which multiplies by clip / (norm + 1e-6) when that is below 1); the fused AdamW
    /// kernel takes it as its grad_scale.
    /// </summary>
    public static Tensor ClipDivisor(Tensor norm, double clip)
    {
        using Scalar eps = 1e-6, c = clip, one = 1.0;
        using var shifted = norm.add(eps);
        using var ratio = shifted.div(c);
        return ratio.clamp_min(one).reshape(1);
    }
}
