using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Optim;

/// <summary>AdamW hyper-parameters (PyTorch's defaults except the decay, nanoGPT's 0.1).</summary>
public sealed record AdamWOptions(double Beta1 = 0.9, double Beta2 = 0.95, double Eps = 1e-8, double WeightDecay = 0.1, double GradClip = 1.0);

/// <summary>
/// AdamW over one flat fp32 region: the whole model for DDP, this rank's shard for ZeRO. Same math as
/// torch.optim.AdamW (decoupled decay, bias-corrected moments). The decay mask given to the constructor is 1 on
/// elements of 2-D weights and 0 elsewhere (biases, norms, padding), as nanoGPT groups them; it is read once into
/// runs and disposed, so it costs no device memory while training.
/// </summary>
public sealed class FlatAdamW : IDisposable
{
    public Tensor Master { get; }
    public Tensor ExpAvg { get; }
    public Tensor ExpAvgSq { get; }
    public long StepCount { get; set; }
    readonly AdamWOptions _o;

    /// <param name="fused">Use libtorch's fused kernel when it works here (tests compare both paths).</param>
    public FlatAdamW(Tensor master, Tensor decayMask, AdamWOptions options, bool fused = true)
        : this(master, RunsAndDispose(decayMask), options, fused) { }

    /// <summary>
    /// The same with the decayed elements given as runs (offset, length) of the region, in order; every other element
    /// is not decayed. No mask tensor is made (the sharded trainer derives the runs from its layout).
    /// </summary>
    public FlatAdamW(Tensor master, IReadOnlyList<(long Offset, long Length)> decayRuns, AdamWOptions options, bool fused = true)
        : this(master, (decayRuns.ToArray(), Complement(decayRuns, master.numel())), options, fused) { }

    FlatAdamW(Tensor master, ((long, long)[] Decay, (long, long)[] Plain) runs, AdamWOptions options, bool fused)
    {
        Master = master;
        ExpAvg = zeros_like(master).DetachFromDisposeScope();
        ExpAvgSq = zeros_like(master).DetachFromDisposeScope();
        _o = options;
        _fused = fused ? FusedAdamWKernel.TryCreate(master.device, out _) : null;
        _step = zeros(1, dtype: ScalarType.Float32, device: master.device).DetachFromDisposeScope();
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
    readonly Tensor _step;               // its float32 step count, on the device
    readonly (long Offset, long Length)[] _decayRuns, _plainRuns;
    readonly Tensor[][][] _views;        // [decay, plain][master, exp_avg, exp_avg_sq][run]

    /// <summary>Whether libtorch's fused kernel does the update (else element-wise tensor ops).</summary>
    public bool Fused => _fused is not null;

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
    /// One update with <paramref name="grad"/> (fp32, same length as <see cref="Master"/>), divided first by
    /// <paramref name="gradScale"/> when given (a one-element device tensor: max(1, norm / clip) clips the gradient).
    /// </summary>
    public void Step(Tensor grad, double lr, Tensor? gradScale = null)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        StepCount++;
        if (_fused is not null)
        {
            _step.FillHeld(StepCount);
            for (var kind = 0; kind < 2; kind++)
            {
                var runs = kind == 0 ? _decayRuns : _plainRuns;
                var grads = runs.Select(r => grad.narrow(0, r.Offset, r.Length)).ToArray();
                _fused.Step(_views[kind][0], grads, _views[kind][1], _views[kind][2], _step, gradScale, lr, _o.Beta1, _o.Beta2,
                    kind == 0 ? _o.WeightDecay : 0, _o.Eps);
            }
            return;
        }
        if (gradScale is not null) grad.div_(gradScale);
        var bc1 = 1 - Math.Pow(_o.Beta1, StepCount);
        var bc2 = 1 - Math.Pow(_o.Beta2, StepCount);
        // The numbers as held Scalars: TorchSharp's temporary ones can be freed while libtorch reads them.
        using Scalar keep = 1 - lr * _o.WeightDecay, b1 = _o.Beta1, oneMinusB1 = 1 - _o.Beta1, b2 = _o.Beta2,
            oneMinusB2 = 1 - _o.Beta2, sqrtBc2 = Math.Sqrt(bc2), eps = _o.Eps, minusStep = -lr / bc1;
        // Decoupled decay first (as torch.optim.AdamW), on 2-D weights only.
        if (_o.WeightDecay > 0)
            foreach (var run in _views[0][0]) run.mul_(keep);
        ExpAvg.mul_(b1).add_(grad, alpha: oneMinusB1);
        ExpAvgSq.mul_(b2).addcmul_(grad, grad, value: oneMinusB2);
        var denom = ExpAvgSq.sqrt().div_(sqrtBc2).add_(eps);
        Master.addcdiv_(ExpAvg, denom, value: minusStep);
    }

    public void Dispose()
    {
        foreach (var v in _views.SelectMany(k => k).SelectMany(b => b)) v.Dispose();
        Master.Dispose(); ExpAvg.Dispose(); ExpAvgSq.Dispose(); _step.Dispose(); _fused?.Dispose();
    }
}
