using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Optim;

/// <summary>
/// libtorch's fused AdamW kernel (<c>torch._fused_adamw_</c>, what PyTorch's <c>AdamW(fused=True)</c> calls), reached
/// through a TorchScript function because TorchSharp does not bind it. One kernel per flat buffer instead of about
/// ten element-wise passes. The caller keeps the step count in a float32 device tensor and sets it before each call
/// (PyTorch increments it before calling the kernel; bias correction divides by 1 - beta^step).
/// </summary>
public sealed class FusedAdamWKernel : IDisposable
{
    // ps[0] is returned so TorchScript keeps the call: a mutation of a list built in the function is otherwise dropped.
    const string Script = @"
def adamw(p: Tensor, g: Tensor, m: Tensor, v: Tensor, step: Tensor, lr: float, b1: float, b2: float, wd: float, eps: float):
    ps = [p]
    torch._fused_adamw_(ps, [g], [m], [v], [], [step], lr=lr, beta1=b1, beta2=b2, weight_decay=wd, eps=eps, amsgrad=False, maximize=False)
    return ps[0]
";

    readonly jit.CompilationUnit _unit;

    FusedAdamWKernel(jit.CompilationUnit unit) => _unit = unit;

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
            var kernel = new FusedAdamWKernel(jit.compile(Script));
            // Smoke test on the device: one step from p = 1, g = 0.5 must give 1·(1 - 0.1·0.1) - 0.1 = 0.89.
            using var p = ones(4, device: device);
            using var g = full(4, 0.5f, device: device);
            using var m = zeros(4, device: device);
            using var v = zeros(4, device: device);
            using var s = ones(1, device: device);
            kernel.Step(p, g, m, v, s, 0.1, 0.9, 0.95, 0.1, 1e-8);
            var got = p[0].item<float>();
            if (Math.Abs(got - 0.89f) > 1e-5) { reason = $"fused AdamW smoke test gave {got}, expected 0.89"; kernel.Dispose(); return null; }
            return kernel;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            reason = "fused AdamW unavailable: " + e.Message.Split('\n')[0];
            return null;
        }
    }

    public void Step(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, Tensor step, double lr, double beta1, double beta2, double weightDecay, double eps)
    {
        using var result = _unit.invoke<Tensor>("adamw", param, grad, expAvg, expAvgSq, step, lr, beta1, beta2, weightDecay, eps);
    }

    public void Dispose() => _unit.Dispose();
}
