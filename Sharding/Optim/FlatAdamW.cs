using static TorchSharp.torch;

namespace Orchestrator.Sharding.Optim;

/// <summary>AdamW hyper-parameters (PyTorch's defaults except the decay, nanoGPT's 0.1).</summary>
public sealed record AdamWOptions(double Beta1 = 0.9, double Beta2 = 0.95, double Eps = 1e-8, double WeightDecay = 0.1, double GradClip = 1.0);

/// <summary>
/// AdamW over one flat fp32 region: the whole model for DDP, this rank's shard for ZeRO. Same math as
/// torch.optim.AdamW (decoupled decay, bias-corrected moments); <see cref="DecayMask"/> is 1 on elements of 2-D
/// weights and 0 elsewhere (biases, norms, padding), as nanoGPT groups them.
/// </summary>
public sealed class FlatAdamW : IDisposable
{
    public Tensor Master { get; }
    public Tensor ExpAvg { get; }
    public Tensor ExpAvgSq { get; }
    public Tensor DecayMask { get; }
    public long StepCount { get; set; }
    readonly AdamWOptions _o;

    public FlatAdamW(Tensor master, Tensor decayMask, AdamWOptions options)
    {
        Master = master;
        DecayMask = decayMask;
        ExpAvg = zeros_like(master).DetachFromDisposeScope();
        ExpAvgSq = zeros_like(master).DetachFromDisposeScope();
        _o = options;
        _fused = FusedAdamWKernel.TryCreate(master.device, out _);
        _step = zeros(1, dtype: ScalarType.Float32, device: master.device).DetachFromDisposeScope();
    }

    readonly FusedAdamWKernel? _fused;   // libtorch's fused AdamW (one kernel), when this libtorch has it
    readonly Tensor _step;               // its float32 step count, on the device

    /// <summary>Whether libtorch's fused kernel does the update (else element-wise tensor ops).</summary>
    public bool Fused => _fused is not null;

    /// <summary>One update with <paramref name="grad"/> (fp32, same length as <see cref="Master"/>).</summary>
    public void Step(Tensor grad, double lr)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        StepCount++;
        // Decoupled decay first (as torch.optim.AdamW), on 2-D weights only: the fused kernel takes one decay for
        // the whole buffer, so it runs with 0 and the mask is applied here in one pass.
        if (_o.WeightDecay > 0) Master.addcmul_(Master, DecayMask, value: -lr * _o.WeightDecay);
        if (_fused is not null)
        {
            _step.fill_(StepCount);
            _fused.Step(Master, grad, ExpAvg, ExpAvgSq, _step, lr, _o.Beta1, _o.Beta2, 0, _o.Eps);
            return;
        }
        ExpAvg.mul_(_o.Beta1).add_(grad, alpha: 1 - _o.Beta1);
        ExpAvgSq.mul_(_o.Beta2).addcmul_(grad, grad, value: 1 - _o.Beta2);
        var bc1 = 1 - Math.Pow(_o.Beta1, StepCount);
        var bc2 = 1 - Math.Pow(_o.Beta2, StepCount);
        var denom = (ExpAvgSq.sqrt() / Math.Sqrt(bc2)).add_(_o.Eps);
        Master.addcdiv_(ExpAvg, denom, value: -lr / bc1);
    }

    public void Dispose()
    {
        Master.Dispose(); ExpAvg.Dispose(); ExpAvgSq.Dispose(); DecayMask.Dispose(); _step.Dispose(); _fused?.Dispose();
    }
}
