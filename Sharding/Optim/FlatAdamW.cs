using Orchestrator.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Optim;

/// <summary>AdamW and clipping hyper-parameters (PyTorch's defaults except the decay, nanoGPT's 0.1, and nanoGPT's clip of 1).</summary>
public sealed record AdamWSettings(double Beta1 = 0.9, double Beta2 = 0.95, double Eps = 1e-8, double WeightDecay = 0.1, double GradClip = 1.0);

/// <summary>
/// A run (offset, length) of the optimizer region with its update group: whether AdamW decays it and its
/// learning-rate multiplier (μP's base_width / width for hidden matrices, 1 for everything else).
/// </summary>
public readonly record struct UpdateRun(long Offset, long Length, bool Decay, double LrScale = 1.0);

/// <summary>
/// The one AdamW: over one flat fp32 region (the whole model at world 1 and for DDP, this rank's shard for ZeRO).
/// Same math as torch.optim.AdamW (decoupled decay, bias-corrected moments); decay applies to the given runs of the
/// region (elements of 2-D weights, as nanoGPT groups them), nothing else. Parameter groups (decay or not, a
/// learning-rate multiplier) are runs of the region, so they travel with the flat layout: a ZeRO shard holds the
/// pieces of each group that fall in it. Invariant: the learning rate and the step count live in one-element
/// float32 device tensors that <see cref="Schedule"/> sets outside the step, and each group's multiplier is a device
/// tensor too; <see cref="Update"/> reads only them (a group's learning rate is computed on the device inside the
/// update), so the update has no per-step host value and no host sync (a CUDA graph can replay it).
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
        : this(master, decayRuns.Select(r => new UpdateRun(r.Offset, r.Length, Decay: true)).ToList(), settings, fused) { }

    /// <summary>
    /// Runs of the region with their groups, in order and not overlapping; elements no run covers (padding) are
    /// not decayed and take the plain learning rate.
    /// </summary>
    public FlatAdamW(Tensor master, IReadOnlyList<UpdateRun> runs, AdamWSettings settings, bool fused = true)
    {
        var all = WithComplement(runs, master.numel());
        Master = master;
        ExpAvg = zeros_like(master).DetachFromDisposeScope();
        ExpAvgSq = zeros_like(master).DetachFromDisposeScope();
        Settings = settings;
        string? reason = "not requested";
        _fused = fused ? FusedAdamWKernel.TryCreate(master.device, out reason) : null;
        FusedUnavailableReason = _fused is null ? reason : null;
        StepTensor = zeros(1, dtype: ScalarType.Float32, device: master.device).DetachFromDisposeScope();
        LearningRate = zeros(1, dtype: ScalarType.Float32, device: master.device).DetachFromDisposeScope();
        // Decayed groups first, then by multiplier: under one multiplier this is the decay/plain pair of calls.
        _groups = [.. all.GroupBy(r => (r.Decay, r.LrScale)).OrderBy(g => g.Key.Decay ? 0 : 1).ThenBy(g => g.Key.LrScale)
            .Select(g => new Group(g.Key.Decay, g.Key.LrScale, [.. g.OrderBy(r => r.Offset).Select(r => (r.Offset, r.Length))], this))];
        _uniformLr = _groups.All(g => g.Scale is null);
    }

    static (long, long)[] RunsAndDispose(Tensor mask)
    {
        var runs = DecayRunsOf(mask);
        mask.Dispose();
        return runs;
    }

    static List<UpdateRun> WithComplement(IReadOnlyList<UpdateRun> runs, long total)
    {
        var all = new List<UpdateRun>();
        long at = 0;
        foreach (var r in runs)
        {
            if (r.Offset < at || r.Length <= 0 || r.Offset + r.Length > total)
                throw new ArgumentException($"decay runs must be ordered, non-empty and inside the region of {total}: got ({r.Offset}, {r.Length}) after {at}");
            if (!(r.LrScale > 0) || !double.IsFinite(r.LrScale))
                throw new ArgumentException($"run ({r.Offset}, {r.Length}): learning-rate multiplier {r.LrScale} must be a positive number");
            if (r.Offset > at) all.Add(new UpdateRun(at, r.Offset - at, Decay: false));
            all.Add(r);
            at = r.Offset + r.Length;
        }
        if (at < total) all.Add(new UpdateRun(at, total - at, Decay: false));
        return all;
    }

    /// <summary>One parameter group: its runs, views of the three buffers over them, and its learning rate.</summary>
    sealed class Group
    {
        public bool Decay { get; }
        public double LrScale { get; }
        public (long Offset, long Length)[] Runs { get; }
        public Tensor[][] Views { get; }   // [master, exp_avg, exp_avg_sq][run]
        public Tensor? Scale { get; }      // the multiplier on the device; null when it is 1
        public Tensor Lr { get; }          // the owner's LearningRate, or LearningRate·Scale computed in Update

        public Group(bool decay, double lrScale, (long, long)[] runs, FlatAdamW owner)
        {
            Decay = decay; LrScale = lrScale; Runs = runs;
            Views = [.. new[] { owner.Master, owner.ExpAvg, owner.ExpAvgSq }
                .Select(buffer => runs.Select(x => buffer.narrow(0, x.Item1, x.Item2).DetachFromDisposeScope()).ToArray())];
            if (lrScale == 1.0) { Lr = owner.LearningRate; return; }
            Scale = zeros(1, dtype: ScalarType.Float32, device: owner.Master.device).DetachFromDisposeScope();
            Scale.FillHeld(lrScale);
            Lr = zeros(1, dtype: ScalarType.Float32, device: owner.Master.device).DetachFromDisposeScope();
        }

        public void Dispose()
        {
            foreach (var v in Views.SelectMany(b => b)) v.Dispose();
            if (Scale is not null) { Scale.Dispose(); Lr.Dispose(); }
        }
    }

    readonly FusedAdamWKernel? _fused;   // libtorch's fused AdamW (one kernel), when this libtorch has it
    readonly Group[] _groups;
    readonly bool _uniformLr;            // every group takes LearningRate itself

    /// <summary>Whether libtorch's fused kernel does the update (else element-wise tensor ops).</summary>
    public bool Fused => _fused is not null;

    /// <summary>Why the fused kernel is not used, when it is not.</summary>
    public string? FusedUnavailableReason { get; }

    /// <summary>The parameter groups: decayed or not, learning-rate multiplier, elements of the region.</summary>
    public IReadOnlyList<(bool Decay, double LrScale, long Elements)> Groups =>
        [.. _groups.Select(g => (g.Decay, g.LrScale, g.Runs.Sum(r => r.Length)))];

    // The mask's maximal runs of 1s (decayed), read once.
    static (long, long)[] DecayRunsOf(Tensor mask)
    {
        var m = mask.cpu().data<float>().ToArray();
        List<(long, long)> decay = [];
        for (long i = 0; i < m.Length;)
        {
            long j = i;
            while (j < m.Length && m[j] == m[i]) j++;
            if (m[i] != 0) decay.Add((i, j - i));
            i = j;
        }
        return [.. decay];
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
        // Each group's learning rate on the device (no host value: a replayed graph recomputes it from LearningRate).
        foreach (var g in _groups)
            if (g.Scale is not null) g.Lr.copy_(LearningRate).mul_(g.Scale);
        if (_fused is not null)
        {
            // The fused kernel takes one weight decay and one learning rate per call: one call per group, over that
            // group's runs of the flat buffers (views: no copies).
            foreach (var g in _groups)
            {
                var grads = g.Runs.Select(r => grad.narrow(0, r.Offset, r.Length)).ToArray();
                _fused.Step(g.Views[0], grads, g.Views[1], g.Views[2], StepTensor, gradScale, g.Lr, s.Beta1, s.Beta2,
                    g.Decay ? s.WeightDecay : 0, s.Eps);
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
            foreach (var g in _groups.Where(g => g.Decay))
            {
                var keep = g.Lr.mul(wd).neg_().add_(one);                            // 1 - lr·wd
                foreach (var run in g.Views[0]) run.mul_(keep);
            }
        }
        ExpAvg.mul_(b1).add_(grad, alpha: oneMinusB1);
        ExpAvgSq.mul_(b2).addcmul_(grad, grad, value: oneMinusB2);
        var denom = ExpAvgSq.sqrt().div_(sqrtBc2).add_(eps);
        if (_uniformLr)
        {
            Master.sub_(ExpAvg.div(denom).mul_(LearningRate.div(bc1)));
            return;
        }
        var direction = ExpAvg.div(denom).div_(bc1);
        foreach (var g in _groups)
            for (var i = 0; i < g.Runs.Length; i++)
                g.Views[0][i].sub_(direction.narrow(0, g.Runs[i].Offset, g.Runs[i].Length).mul(g.Lr));
    }

    /// <summary><see cref="Schedule"/> then <see cref="Update"/>: one whole step with a host learning rate.</summary>
    public void Step(Tensor grad, double lr, Tensor? gradScale = null)
    {
        Schedule(lr);
        Update(grad, gradScale);
    }

    public void Dispose()
    {
        foreach (var g in _groups) g.Dispose();
        Master.Dispose(); ExpAvg.Dispose(); ExpAvgSq.Dispose(); StepTensor.Dispose(); LearningRate.Dispose(); _fused?.Dispose();
    }
}
