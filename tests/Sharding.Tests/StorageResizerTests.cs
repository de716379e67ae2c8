using Orchestrator.Sharding.Interop;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Sharding;

/// <summary>Freeing a storage in place and allocating it again: what ZeRO-3 does to gathered parameters between forward and backward.</summary>
public sealed class StorageResizerTests
{
    static StorageResizer Resizer()
    {
        var r = StorageResizer.TryCreate(CPU, out var reason);
        Assert.True(r is not null, reason);
        return r!;
    }

    [Fact]
    public void A_freed_storage_comes_back_under_its_views_and_autograd_reads_the_new_values()
    {
        var resizer = Resizer();
        using var scope = NewDisposeScope();
        // As ZeRO-3 holds a stage: a parameter made a view of the gathered buffer with set_.
        var buf = arange(12, dtype: ScalarType.Float32);
        var w = new TorchSharp.Modules.Parameter(zeros(2, 3));
        using (no_grad()) w.set_(buf.narrow(0, 4, 6).view(2, 3));
        var x = tensor(new float[] { 1, 2, 3 }).reshape(1, 3).requires_grad_(true);
        // y = x · wᵀ saves a view of w for x's gradient.
        var y = nn.functional.linear(x, w).sum();
        resizer.Free(buf);
        Assert.True(resizer.IsFreed(buf));
        Assert.Equal(new long[] { 2, 3 }, w.shape); // still a (2, 3) parameter, over no memory
        resizer.Allocate(buf);
        Assert.False(resizer.IsFreed(buf));
        using (no_grad()) buf.copy_(arange(12, dtype: ScalarType.Float32).mul_(100));
        y.backward();
        // x's gradient is the column sums of the new values: rows [400, 500, 600] and [700, 800, 900].
        Assert.Equal(new float[] { 1100, 1300, 1500 }, x.grad!.data<float>().ToArray());
        Assert.Equal(new float[] { 1, 2, 3, 1, 2, 3 }, w.grad!.reshape(-1).data<float>().ToArray());
        Assert.Equal(new float[] { 400, 500, 600, 700, 800, 900 }, w.detach().reshape(-1).data<float>().ToArray());
    }

    [Fact]
    public void Free_and_allocate_are_idempotent()
    {
        var resizer = Resizer();
        using var buf = zeros(16, dtype: ScalarType.BFloat16);
        resizer.Free(buf);
        resizer.Free(buf);
        Assert.True(resizer.IsFreed(buf));
        resizer.Allocate(buf);
        resizer.Allocate(buf);
        Assert.False(resizer.IsFreed(buf));
        using (no_grad()) buf.fill_(1);
        using var sum = buf.sum(ScalarType.Float32);
        Assert.Equal(16f, sum.item<float>());
    }

    [Fact]
    public void A_view_is_refused_with_a_clear_error_and_its_storage_left_alone()
    {
        var resizer = Resizer();
        using var buf = arange(8, dtype: ScalarType.Float32);
        using var part = buf.narrow(0, 2, 4);
        var e = Assert.Throws<ArgumentException>(() => resizer.Free(part));
        Assert.Contains("whole storage", e.Message);
        using var head = buf.narrow(0, 0, 4);
        e = Assert.Throws<ArgumentException>(() => resizer.Free(head));
        Assert.Contains("16 of its storage's 32 bytes", e.Message);
        Assert.False(resizer.IsFreed(buf));
        using var sum = buf.sum();
        Assert.Equal(28f, sum.item<float>());
    }
}
