using Orchestrator.Sharding.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Optimization;

/// <summary>
/// The single-process <see cref="IOptimizerStrategy"/>: fp32 master weights, compute copies in
/// <see cref="ComputeDtype"/> (bf16 on CUDA: TorchSharp has no autocast), AdamW with decoupled weight decay on 2-D
/// weights only (nanoGPT's grouping: matmul weights and embeddings decay; biases and LayerNorm gains do not),
/// global-norm gradient clipping. No host syncs: the clip factor stays on the device.
/// </summary>
public sealed class LocalAdamW : IOptimizerStrategy
{
    readonly FlatParameterGroup[] _groups;
    readonly AdamWSettings _settings;
    readonly FusedAdamWKernel? _fused;
    readonly Tensor _stepTensor;   // float32 device scalar for the fused kernel's bias correction, advanced on the device
    readonly Tensor _lrTensor;     // float32 device scalar: the learning rate the fused kernel reads
    double _lr;                    // the same rate on the host (the element-wise fallback bakes it into its kernels)

    static readonly Scalar OneStep = 1; // held for the process: the device step count's increment

    public ScalarType ComputeDtype { get; }
    public long StepCount { get; private set; }
    public IReadOnlyList<FlatParameterGroup> Groups => _groups;

    /// <param name="model">A module already on <paramref name="device"/> in fp32; converted to
    /// <paramref name="computeDtype"/> here, after the fp32 masters are taken.</param>
    /// <param name="fused">Use libtorch's fused AdamW kernel when it works here (ORCH_ADAMW=unfused turns it off).</param>
    public LocalAdamW(nn.Module model, AdamWSettings settings, ScalarType computeDtype, Device device, bool fused = true)
    {
        _settings = settings;
        ComputeDtype = computeDtype;
        var all = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        var decay = all.Where(p => p.parameter.dim() >= 2).ToList();
        var noDecay = all.Where(p => p.parameter.dim() < 2).ToList();
        _groups = [new FlatParameterGroup(decay, true, device), new FlatParameterGroup(noDecay, false, device)];
        if (computeDtype != ScalarType.Float32) model.to(computeDtype); // set_ needs the parameter's own dtype to match
        var byName = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var g in _groups) g.Bind(byName, computeDtype);
        string? reason = "not requested";
        _fused = fused ? FusedAdamWKernel.TryCreate(device, out reason) : null;
        FusedUnavailableReason = _fused is null ? reason : null;
        _stepTensor = zeros(1, ScalarType.Float32, device);
        _lrTensor = zeros(1, ScalarType.Float32, device);
    }

    /// <summary>Whether the fused kernel does the update (else element-wise tensor ops).</summary>
    public bool Fused => _fused is not null;

    /// <summary>Why the fused kernel is not used, when it is not.</summary>
    public string? FusedUnavailableReason { get; }

    public void ZeroGrad()
    {
        foreach (var g in _groups) g.DropGrads();
    }

    public Tensor Step(double learningRate)
    {
        BeginStep(learningRate);
        return DeviceStep();
    }

    /// <summary>
    /// The host half of a step, run before <see cref="DeviceStep"/> (outside a CUDA graph that captured it): counts
    /// the step and sets the learning rate the update reads from the device.
    /// </summary>
    public void BeginStep(double learningRate)
    {
        StepCount++;
        _lr = learningRate;
        if (_fused is not null) _lrTensor.FillHeld(learningRate);
    }

    /// <summary>
    /// The device half of a step: gradient gather, global norm, clip and the update, then the compute copies and
    /// dropping the gradients. With the fused kernel it reads no host value that changes between steps (the step
    /// count advances on the device, the rate comes from the tensor <see cref="BeginStep"/> filled), so a CUDA graph
    /// can capture it together with forward and backward.
    /// </summary>
    public Tensor DeviceStep()
    {
        double learningRate = _lr;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var g in _groups) g.GatherGrads(); // the one pass over the gradients before the update (bf16 -> fp32)
        var grads = _groups.Select(g => g.Grad).ToArray();
        // Global L2 norm over both groups; clipping divides by max(1, norm / clip) on the device (no .item()),
        // inside the fused kernel when there is one.
        var norm = stack(grads.Select(g => linalg.vector_norm(g)).ToArray()).square().sum().sqrt();
        var scale = _settings.GradClip > 0 ? HeldScalars.ClipDivisor(norm, _settings.GradClip) : null;
        double b1 = _settings.Beta1, b2 = _settings.Beta2;
        double bias1 = 1 - Math.Pow(b1, StepCount), bias2 = 1 - Math.Pow(b2, StepCount);
        double stepSize = learningRate / bias1;
        if (_fused is not null) _stepTensor.add_(OneStep);
        for (int i = 0; i < _groups.Length; i++)
        {
            var group = _groups[i];
            if (group.Length == 0) continue;
            var g = grads[i];
            double decay = group.Decay ? _settings.WeightDecay : 0;
            if (_fused is not null)
                _fused.Step([group.Master], [g], [group.ExpAvg], [group.ExpAvgSq], _stepTensor, scale, _lrTensor, b1, b2, decay, _settings.Eps);
            else
            {
                // The numbers as held Scalars: TorchSharp's temporary ones can be freed while libtorch reads them.
                using Scalar b2S = b2, oneMinusB2 = 1 - b2, keep = 1 - learningRate * decay,
                    sqrtBias2 = Math.Sqrt(bias2), eps = _settings.Eps, minusStep = -stepSize;
                if (scale is not null) g.div_(scale);
                group.ExpAvg.lerp_(g, 1 - b1);                                  // m = b1·m + (1-b1)·g (a tensor weight: scoped)
                group.ExpAvgSq.mul_(b2S).addcmul_(g, g, oneMinusB2);           // v = b2·v + (1-b2)·g²
                if (decay > 0) group.Master.mul_(keep);
                var denom = group.ExpAvgSq.sqrt().div_(sqrtBias2).add_(eps);
                group.Master.addcdiv_(group.ExpAvg, denom, minusStep);
            }
            if (!ReferenceEquals(group.Compute, group.Master)) group.Compute.copy_(group.Master);
        }
        return norm.MoveToOuterDisposeScope();
    }

    public IReadOnlyList<(string Name, Tensor Tensor)> MasterWeights() =>
        _groups.SelectMany(g => g.Slots.Select(s => (s.Name, g.View(g.Master, s)))).ToList();

    public IReadOnlyList<(string Name, Tensor Tensor)> OptimizerState() =>
        _groups.SelectMany(g => g.Slots.SelectMany(s => new[]
        {
            ("exp_avg." + s.Name, g.View(g.ExpAvg, s)),
            ("exp_avg_sq." + s.Name, g.View(g.ExpAvgSq, s)),
        })).ToList();

    public void Load(IReadOnlyDictionary<string, Tensor> weights, IReadOnlyDictionary<string, Tensor>? optimizerState, long stepCount)
    {
        using var scope = NewDisposeScope(); // the slot views, held until their copies have run (the trainer's constructor has no scope)
        using var _ = no_grad();
        foreach (var g in _groups)
        {
            foreach (var s in g.Slots)
            {
                CopyInto(g.View(g.Master, s), weights, s.Name, s.Shape);
                if (optimizerState is null) continue;
                CopyInto(g.View(g.ExpAvg, s), optimizerState, "exp_avg." + s.Name, s.Shape);
                CopyInto(g.View(g.ExpAvgSq, s), optimizerState, "exp_avg_sq." + s.Name, s.Shape);
            }
            if (!ReferenceEquals(g.Compute, g.Master)) g.Compute.copy_(g.Master);
        }
        StepCount = stepCount;
        _stepTensor.FillHeld(stepCount);
    }

    static void CopyInto(Tensor dst, IReadOnlyDictionary<string, Tensor> src, string name, long[] shape)
    {
        if (!src.TryGetValue(name, out var t))
            throw new InvalidDataException($"checkpoint has no tensor '{name}'; it was written for a different model shape");
        if (!t.shape.SequenceEqual(shape))
            throw new InvalidDataException($"checkpoint tensor '{name}' has shape [{string.Join(",", t.shape)}] but the model needs [{string.Join(",", shape)}]");
        dst.copy_(t);
    }

    public void Dispose()
    {
        _fused?.Dispose();
        _stepTensor.Dispose();
        _lrTensor.Dispose();
        foreach (var g in _groups) g.Dispose();
    }
}
