using Orchestrator.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Optim;

/// <summary>AdamW and clipping hyper-parameters (PyTorch's defaults except the decay, nanoGPT's 0.1, and nanoGPT's clip of 1).</summary>
public sealed record AdamWSettings(double Beta1 = 0.9, double Beta2 = 0.95, double Eps = 1e-8, double WeightDecay = 0.1, double GradClip = 1.0);

/// <summary>
/// The one AdamW: over one flat fp32 region (the whole model at world 1 and for DDP, this rank's shard for ZeRO).
/// Same math as torch.optim.AdamW (decoupled decay, bias-corrected moments); decay applies to the given runs of the
/// region (elements of 2-D weights, as nanoGPT groups them), nothing else. Invariant: the learning rate and the step
/// count live in one-element float32 device tensors that <see cref="Schedule"/> sets outside the step; <see cref="Update"/>
/// reads only them, so the update has no per-step host value and no host sync (a CUDA graph can replay it).
/// </summary>
public sealed class FlatAdamW : IDisposable
{
    public Tensor Master { get; }
    public Tensor ExpAvg { get; }
    public Tensor ExpAvgSq { get; }
    public AdamWSettings Settings { get; }

    /// <summary>
    /// Every region-shaped tensor a resumed run needs, by name: what checkpoints save and load, whatever buffers the
    /// optimizer gains (they are written and resharded generically).
    /// </summary>
    public IReadOnlyList<(string Name, Tensor Region)> StateBuffers => [("master", Master), ("exp_avg", ExpAvg), ("exp_avg_sq", ExpAvgSq)];

    /// <summary>The learning rate of the next update, on the device (set by <see cref="Schedule"/>).</summary>
    public Tensor LearningRate { get; }

    /// <summary>AdamW's t on the device: bias correction reads it; <see cref="Schedule"/> increments it there.</summary>
    public Tensor StepTensor { get; }

    long _steps;

    /// <summary>Updates taken (AdamW's t); setting it (a checkpoint load) writes the device step tensor too.</summary>
    public long StepCount
    {
        get => _steps;
        set
        {
            _steps = value;
            StepTensor.FillHeld(value);
        }
    }

    /// <param name="fused">Use libtorch's fused kernel when it works here (tests compare both paths).</param>
    public FlatAdamW(Tensor master, Tensor decayMask, AdamWSettings settings, bool fused = true)
        : this(master, RunsAndDispose(decayMask), settings, fused) { }

    /// <summary>
    /// The decayed elements given as runs (offset, length) of the region, in order; every other element is not
    /// decayed. No mask tensor is made (the engine derives the runs from its layout).
    /// </summary>
    public FlatAdamW(Tensor master, IReadOnlyList<(long Offset, long Length)> decayRuns, AdamWSettings settings, bool fused = true)
        : this(master, (decayRuns.ToArray(), Complement(decayRuns, master.numel())), settings, fused) { }

    FlatAdamW(Tensor master, ((long, long)[] Decay, (long, long)[] Plain) runs, AdamWSettings settings, bool fused)
    {
        Master = master;
        ExpAvg = zeros_like(master).DetachFromDisposeScope();
        ExpAvgSq = zeros_like(master).DetachFromDisposeScope();
        Settings = settings;
        string? reason = "not requested";
        _fused = fused ? FusedAdamWKernel.TryCreate(master.device, out reason) : null;
        FusedUnavailableReason = _fused is null ? reason : null;
        StepTensor = zeros(1, dtype: ScalarType.Float32, device: master.device).DetachFromDisposeScope();
        LearningRate = zeros(1, dtype: ScalarType.Float32, device: master.device).DetachFromDisposeScope();
        (_decayRuns, _plainRuns) = runs;
        _views = [.. new[] { _decayRuns, _plainRuns }.Select(r => new[] { Master, ExpAvg, ExpAvgSq }
            .Select(buffer => r.Select(x => buffer.narrow(0, x.Item1, x.Item2).DetachFromDisposeScope()).ToArray()).ToArray())];
    }

    static ((long, long)[], (long, long)[]) RunsAndDispose(Tensor mask)
    {
        var runs = Runs(mask);
        mask.Dispose();
        return runs;
    }

    static (long, long)[] Complement(IReadOnlyList<(long Offset, long Length)> runs, long total)
    {
        var plain = new List<(long, long)>();
        long at = 0;
        foreach (var (offset, length) in runs)
        {
            if (offset < at || length <= 0 || offset + length > total)
                throw new ArgumentException($"decay runs must be ordered, non-empty and inside the region of {total}: got ({offset}, {length}) after {at}");
            if (offset > at) plain.Add((at, offset - at));
            at = offset + length;
        }
        if (at < total) plain.Add((at, total - at));
        return [.. plain];
    }

    readonly FusedAdamWKernel? _fused;   // libtorch's fused AdamW (one kernel), when this libtorch has it
    readonly (long Offset, long Length)[] _decayRuns, _plainRuns;
    readonly Tensor[][][] _views;        // [decay, plain][master, exp_avg, exp_avg_sq][run]

    /// <summary>Whether libtorch's fused kernel does the update (else element-wise tensor ops).</summary>
    public bool Fused => _fused is not null;

    /// <summary>Why the fused kernel is not used, when it is not.</summary>
    public string? FusedUnavailableReason { get; }

    // The mask's maximal runs of 1s (decayed) and of 0s, read once: the fused kernel takes one weight decay per
    // call, so it runs twice, each time over that kind's runs of the flat buffers (views: no copies).
    static ((long, long)[] Decay, (long, long)[] Plain) Runs(Tensor mask)
    {
        var m = mask.cpu().data<float>().ToArray();
        List<(long, long)> decay = [], plain = [];
        for (long i = 0; i < m.Length;)
        {
            long j = i;
            while (j < m.Length && m[j] == m[i]) j++;
            (m[i] != 0 ? decay : plain).Add((i, j - i));
            i = j;
        }
        return ([.. decay], [.. plain]);
    }

    /// <summary>
    /// Outside the step: the next update's learning rate into <see cref="LearningRate"/> and t + 1 into
    /// <see cref="StepTensor"/>, both on the device (a fill and an add: no host sync).
    /// </summary>
    public void Schedule(double lr)
    {
        LearningRate.FillHeld(lr);
        using Scalar one = 1.0;
        StepTensor.add_(one);
        _steps++;
    }

    /// <summary>
    /// One update with <paramref name="grad"/> (fp32, same length as <see cref="Master"/>), divided first by
    /// <paramref name="gradScale"/> when given (a one-element device tensor: max(1, norm / clip) clips the gradient).
    /// Reads the learning rate and step from their device tensors; the element-wise path may scale
    /// <paramref name="grad"/> in place.
    /// </summary>
    public void Update(Tensor grad, Tensor? gradScale = null)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var s = Settings;
        if (_fused is not null)
        {
            for (var kind = 0; kind < 2; kind++)
            {
                var runs = kind == 0 ? _decayRuns : _plainRuns;
                var grads = runs.Select(r => grad.narrow(0, r.Offset, r.Length)).ToArray();
                _fused.Step(_views[kind][0], grads, _views[kind][1], _views[kind][2], StepTensor, gradScale, LearningRate, s.Beta1, s.Beta2,
                    kind == 0 ? s.WeightDecay : 0, s.Eps);
            }
            return;
        }
        if (gradScale is not null) grad.div_(gradScale);
        // Bias corrections and the step size from the device tensors; the numbers as held Scalars (TorchSharp's
        // temporary ones can be freed while libtorch reads them).
        using Scalar one = 1.0, b1 = s.Beta1, oneMinusB1 = 1 - s.Beta1, b2 = s.Beta2, oneMinusB2 = 1 - s.Beta2, eps = s.Eps, wd = s.WeightDecay;
        var bc1 = full_like(StepTensor, b1).pow(StepTensor).neg_().add_(one);      // 1 - b1^t
        var sqrtBc2 = full_like(StepTensor, b2).pow(StepTensor).neg_().add_(one).sqrt_();
        // Decoupled decay first (as torch.optim.AdamW), on 2-D weights only.
        if (s.WeightDecay > 0)
        {
            var keep = LearningRate.mul(wd).neg_().add_(one);                        // 1 - lr·wd
            foreach (var run in _views[0][0]) run.mul_(keep);
        }
        ExpAvg.mul_(b1).add_(grad, alpha: oneMinusB1);
        ExpAvgSq.mul_(b2).addcmul_(grad, grad, value: oneMinusB2);
        var denom = ExpAvgSq.sqrt().div_(sqrtBc2).add_(eps);
        Master.sub_(ExpAvg.div(denom).mul_(LearningRate.div(bc1)));
    }

    /// <summary><see cref="Schedule"/> then <see cref="Update"/>: one whole step with a host learning rate.</summary>
    public void Step(Tensor grad, double lr, Tensor? gradScale = null)
    {
        Schedule(lr);
        Update(grad, gradScale);
    }

    public void Dispose()
    {
        foreach (var v in _views.SelectMany(k => k).SelectMany(b => b)) v.Dispose();
        Master.Dispose(); ExpAvg.Dispose(); ExpAvgSq.Dispose(); StepTensor.Dispose(); LearningRate.Dispose(); _fused?.Dispose();
    }
}
