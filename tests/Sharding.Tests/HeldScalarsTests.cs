using Orchestrator.Sharding.Interop;
using Orchestrator.Tensors;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Sharding;

public sealed class HeldScalarsTests
{
    [Fact]
    public void Clip_divisor_is_one_below_the_clip_and_norm_over_clip_above_it()
    {
        TorchRuntime.Initialize();
        using var scope = NewDisposeScope();
        Assert.Equal([1f], HeldScalars.ClipDivisor(tensor(0.5f), 1.0).data<float>().ToArray());
        Assert.Equal([1f], HeldScalars.ClipDivisor(tensor(0.999f), 1.0).data<float>().ToArray());
        Assert.Equal(3.000001f / 2f, HeldScalars.ClipDivisor(tensor(3f), 2.0).item<float>(), 6);
        // Dividing a gradient of norm 3 by it leaves norm 2 (the clip), as clip_grad_norm_ does.
        var g = tensor(new[] { 3f, 0f });
        Assert.Equal(2f, (g / HeldScalars.ClipDivisor(linalg.vector_norm(g), 2.0)).norm().item<float>(), 5);
    }

    [Fact]
    public void Fill_and_divide_hold_their_number()
    {
        TorchRuntime.Initialize();
        using var scope = NewDisposeScope();
        var t = zeros(3);
        t.FillHeld(7);
        Assert.Equal([7f, 7f, 7f], t.data<float>().ToArray());
        Assert.Equal([3.5f, 3.5f, 3.5f], t.DivHeld(2).data<float>().ToArray());
        Assert.Same(t, t.DivHeld(1)); // no kernel for a divisor of 1
    }
}
