using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Optim;

/// <summary>
/// libtorch's fused AdamW kernel (<c>torch._fused_adamw_</c>, what PyTorch's <c>AdamW(fused=True)</c> calls), reached
/// through a TorchScript function because TorchSharp does not bind it. It takes lists of tensors (one multi-tensor
/// launch for all of them, so contiguous runs of a flat buffer cost no more than the whole buffer) and a
/// <c>grad_scale</c> tensor that divides the gradients inside the kernel: gradient clipping rides along for free
/// (scale = max(1, norm / clip)) instead of a separate pass over the gradients. The learning rate and the step count
/// are float32 device tensors (the kernel's tensor-lr overload, PyTorch's capturable form): the caller updates them
/// before each call, on the device, so a step has no per-step host value and no host sync and can be replayed as a
/// CUDA graph (PyTorch increments the step before calling the kernel; bias correction divides by 1 - beta^step).
/// </summary>
public sealed class FusedAdamWKernel : IDisposable
{
    // ps[0] is returned so TorchScript keeps the call: a mutation of a list built in the function is otherwise dropped.
    const string Script = @"
def adamw(ps: List[Tensor], gs: List[Tensor], ms: List[Tensor], vs: List[Tensor], steps: List[Tensor], scale: Tensor, lr: Tensor, b1: float, b2: float, wd: float, eps: float):
    torch._fused_adamw_(ps, gs, ms, vs, [], steps, lr=lr, beta1=b1, beta2=b2, weight_decay=wd, eps=eps, amsgrad=False, maximize=False, grad_scale=scale, found_inf=None)
    return ps[0]
";

    readonly jit.CompilationUnit _unit;
    readonly Tensor _one; // the gradient scale when the caller clips nothing

    FusedAdamWKernel(jit.CompilationUnit unit, Device device)
    {
        _unit = unit;
        _one = ones(1, dtype: ScalarType.Float32, device: device).DetachFromDisposeScope();
    }

    static readonly Lock CompileGate = new();

    /// <summary>The kernel, or null (with the reason) when this libtorch cannot compile or run it.</summary>
    public static FusedAdamWKernel? TryCreate(Device device, out string? reason)
    {
        reason = null;
        if (Environment.GetEnvironmentVariable("ORCH_ADAMW") == "unfused")
        {
            reason = "ORCH_ADAMW=unfused";
            return null;
        }
        try
        {
            // Compiled one at a time: runs packed into one process start together, and TorchScript's compiler is
            // not documented as safe to enter from several threads at once.
            jit.CompilationUnit unit;
            lock (CompileGate) unit = jit.compile(Script);
            var kernel = new FusedAdamWKernel(unit, device);
            using var scope = NewDisposeScope(); // holds the smoke test's temporaries (narrows, cpu copies) until read
            // Smoke test on the device, two slices of one buffer with a gradient scale of 2: one step from p = 1,
            // g = 0.5 must give 1·(1 - 0.1·0.1) - 0.1 = 0.89 and m = 0.1·0.5/2 = 0.025, and leave the gap alone.
            using var p = ones(8, device: device);
            using var g = full(8, 0.5f, device: device);
            using var m = zeros(8, device: device);
            using var v = zeros(8, device: device);
            using var s = ones(1, device: device);
            using var scale = full(1, 2.0f, device: device);
            using var lr = full(1, 0.1f, device: device);
            Tensor[] Runs(Tensor t) => [t.narrow(0, 0, 3), t.narrow(0, 5, 3)];
            kernel.Step(Runs(p), Runs(g), Runs(m), Runs(v), s, scale, lr, 0.9, 0.95, 0.1, 1e-8);
            float[] got = p.cpu().data<float>().ToArray(), gotM = m.cpu().data<float>().ToArray();
            bool ok = got.Select((x, i) => Math.Abs(x - (i is 3 or 4 ? 1f : 0.89f)) <= 1e-5).All(b => b)
                      && gotM.Select((x, i) => Math.Abs(x - (i is 3 or 4 ? 0f : 0.025f)) <= 1e-7).All(b => b);
            if (!ok) { reason = $"fused AdamW smoke test gave p = [{string.Join(", ", got)}], m = [{string.Join(", ", gotM)}]"; kernel.Dispose(); return null; }
            return kernel;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            reason = "fused AdamW unavailable: " + e.Message.Split('\n')[0];
            return null;
        }
    }

    /// <summary>
    /// One AdamW step over parallel lists of fp32 tensors (parameters, gradients, moments), all with the same
    /// weight decay; every gradient is divided by <paramref name="gradScale"/> (a one-element device tensor) first,
    /// when one is given. <paramref name="step"/> and <paramref name="lr"/> are one-element float32 device tensors.
    /// </summary>
    public void Step(IReadOnlyList<Tensor> param, IReadOnlyList<Tensor> grad, IReadOnlyList<Tensor> expAvg, IReadOnlyList<Tensor> expAvgSq,
        Tensor step, Tensor? gradScale, Tensor lr, double beta1, double beta2, double weightDecay, double eps)
    {
        if (param.Count == 0) return;
        gradScale ??= _one;
        // TorchSharp's invoke turns a double argument into a temporary Scalar that nothing references while libtorch
        // reads it, so the GC may finalize (free) it first: libtorch then reads garbage ("Scalar::toLong" failures,
        // a few in a hundred CPU runs). Scalars made and held here, and arrays kept alive, close that window.
        using Scalar b1S = beta1, b2S = beta2, wdS = weightDecay, epsS = eps;
        Tensor[] ps = [.. param], gs = [.. grad], ms = [.. expAvg], vs = [.. expAvgSq];
        var steps = Enumerable.Repeat(step, param.Count).ToArray();
        using var result = _unit.invoke<Tensor>("adamw", ps, gs, ms, vs, steps, gradScale, lr, b1S, b2S, wdS, epsS);
        GC.KeepAlive(ps); GC.KeepAlive(gs); GC.KeepAlive(ms); GC.KeepAlive(vs); GC.KeepAlive(steps); GC.KeepAlive(gradScale); GC.KeepAlive(lr);
    }

    public void Dispose()
    {
        _unit.Dispose();
        _one.Dispose();
    }
}
