using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Model;
using Orchestrator.Sharding.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Parallel;

/// <summary>
/// Data-parallel training of a <see cref="StagedModel"/> over a communicator, with DDP or ZeRO-1/2/3 (see
/// <see cref="ShardingOptions"/>). Every rank builds the same model; rank 0's initial weights are broadcast.
/// The optimizer is <see cref="FlatAdamW"/> over a flat fp32 "region": the whole padded vector for DDP, this
/// rank's shard for ZeRO. Compute parameters keep the model's dtype (bf16 or fp32); masters are fp32.
///
/// Overlap without tensor hooks (TorchSharp 0.107 has none): backward runs stage by stage, each stage's input
/// detached into a leaf, so a stage's gradients are final as soon as its backward returns; its bucket is then
/// reduced asynchronously on the communicator's stream while the earlier stages' backward runs. Accumulation
/// micro-steps (all but the last) reduce nothing (DDP's no_sync), except under ZeRO-3, whose gradients are
/// never whole on one rank and are reduce-scattered every micro-step, as in DeepSpeed.
/// </summary>
public sealed partial class ShardedTrainer : IDisposable
{
    readonly StagedModel _model;
    readonly ICommunicator _comm;
    readonly ShardingOptions _options;
    readonly GroupCopies _copies;
    readonly ScalarType _dtype;
    readonly Device _device;
    readonly FlatAdamW _adam;
    readonly Tensor? _fullGrad;      // zero 0-1: gradients in full coordinates, compute dtype
    readonly Tensor? _fullParams;    // zero 0-2: the compute parameters (each a view of it); zero 1-2 gather into it
    readonly Tensor? _shardGrad;     // zero 2: reduce-scatter target, compute dtype
    readonly Tensor? _paramShard;    // zero 3: this rank's compute-dtype parameters
    readonly IReadOnlyList<(int Low, int High)> _buckets;

    public FlatLayout Layout { get; }
    public int Zero => _options.Zero;
    public ICommunicator Communicator => _comm;
    public FlatAdamW Optimizer => _adam;
    public int Rank => _comm.Rank;

    /// <param name="computeDtype">
    /// The compute dtype (bf16 on GPUs); the stages' parameters must already be in it (the fp32 masters are taken
    /// from them here and broadcast from rank 0).
    /// </param>
    /// <param name="initialMasters">
    /// Rank 0's starting fp32 weights as a full vector in host memory (<see cref="HostFullVector"/> of the model
    /// before it was converted to the compute dtype); without it they are read from the stages' parameters. The
    /// caller keeps ownership; on ranks other than 0 its contents become rank 0's (the broadcast lands in it).
    /// </param>
    public ShardedTrainer(StagedModel model, ICommunicator comm, ShardingOptions options, ScalarType? computeDtype = null, Tensor? initialMasters = null)
    {
        options.Validate();
        _model = model; _comm = comm; _options = options;
        Layout = FlatLayout.Of(model, comm.WorldSize);
        _copies = new GroupCopies(model, Layout);
        var first = model.Parameters[0].Parameter;
        _dtype = computeDtype ?? first.dtype;
        _device = first.device;
        // Callers construct outside any dispose scope (ShardedAdamW, from the trainer's constructor): this one holds
        // every temporary below (narrow, detach, reshape, cat, to, views for set_) until the native calls using them
        // have run, then frees them. What the trainer keeps is detached from it.
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // set_ cannot change a Parameter's dtype (libtorch reinterprets the storage and fails its bounds check), so
        // the caller converts the module before building the stages (ShardedAdamW does) and we only check it here.
        foreach (var (name, p, _) in model.Parameters)
            if (p.dtype != _dtype)
                throw new InvalidOperationException(
                    $"parameter {name} is {p.dtype} but the compute dtype is {_dtype}: convert the module (module.to({_dtype})) before building its stages");
        // Everyone starts from rank 0's weights (fp32, so the broadcast copies bits). The full fp32 vector lives in
        // host memory and goes through the device a stage at a time: on the device this rank only ever holds its
        // optimizer region, so ZeRO-3 starts within its 16Ψ/N (a 4Ψ full vector there would cost more than that).
        if (initialMasters is not null && (initialMasters.numel() != Layout.PaddedTotal || initialMasters.dtype != ScalarType.Float32))
            throw new ArgumentException($"initial masters: need {Layout.PaddedTotal} fp32 values (this model's full vector at world {comm.WorldSize}), got {initialMasters.numel()} {initialMasters.dtype}");
        var full = initialMasters ?? HostFullVector(_copies, Layout); // made here: the scope frees it
        BroadcastFromRank0(full);
        _adam = new FlatAdamW(ToRegion(full).to(_device, copy: true).DetachFromDisposeScope(), DecayRuns(), options.Optimizer);
        if (Zero <= 2)
        {
            if (Zero < 2) _fullGrad = zeros(Layout.PaddedTotal, dtype: _dtype, device: _device).DetachFromDisposeScope();
            // The parameters become views of one flat compute buffer: publishing after a step is one conversion
            // (DDP) or the all-gather itself (ZeRO-1/2), with no per-parameter copies.
            _fullParams = full.to(_dtype, _device, copy: true).DetachFromDisposeScope();
            for (var g = 0; g < Layout.Groups.Count; g++)
                _copies.Materialize(g, _fullParams.narrow(0, Layout.Groups[g].FullOffset, Layout.Groups[g].Padded));
        }
        if (Zero == 2) _shardGrad = zeros(Layout.ShardLength, dtype: _dtype, device: _device).DetachFromDisposeScope();
        if (Zero == 3)
        {
            _paramShard = _adam.Master.to(_dtype).clone().DetachFromDisposeScope();
            for (var g = 0; g < Layout.Groups.Count; g++) _copies.Release(g, _dtype, _device);
            SetUpZero3();
        }
        _needs = model.StageNeeds;
        _buckets = Zero <= 1 ? PlanBuckets(Layout, options.BucketBytes, (int)first.element_size()) : [];
    }

    // For each stage, the groups whose parameters it uses: its own, plus the owner of any parameter it shares
    // (a tied head uses the embedding's weight, which ZeRO-3 must then keep gathered for the head too).
    readonly IReadOnlyList<int[]> _needs;

    /// <summary>DDP buckets: consecutive stages taken from the last, closed once they hold at least the bucket size.</summary>
    static List<(int Low, int High)> PlanBuckets(FlatLayout layout, long bucketBytes, int elementSize)
    {
        var list = new List<(int, int)>();
        var high = layout.Groups.Count - 1;
        long bytes = 0;
        for (var g = layout.Groups.Count - 1; g >= 0; g--)
        {
            bytes += layout.Groups[g].Padded * elementSize;
            if (bytes >= bucketBytes || g == 0) { list.Add((g, high)); high = g - 1; bytes = 0; }
        }
        return list;
    }

    /// <summary>Bucket boundaries as (first stage, last stage), in launch order.</summary>
    public IReadOnlyList<(int Low, int High)> Buckets => _buckets;

    /// <summary>The model's parameters as one full fp32 vector in host memory, laid out for <paramref name="world"/> ranks.</summary>
    public static Tensor HostFullVector(StagedModel model, int world)
    {
        var layout = FlatLayout.Of(model, world);
        return HostFullVector(new GroupCopies(model, layout), layout);
    }

    static Tensor HostFullVector(GroupCopies copies, FlatLayout layout)
    {
        var full = zeros(layout.PaddedTotal, dtype: ScalarType.Float32);
        for (var g = 0; g < layout.Groups.Count; g++) copies.ParamsToFlat(g, full);
        return full;
    }

    /// <summary>
    /// The elements AdamW decays (those of 2-D weights, as nanoGPT groups them) as runs of this rank's optimizer
    /// region, merged where they touch: read off the layout, so no mask tensor exists.
    /// </summary>
    List<(long Offset, long Length)> DecayRuns()
    {
        var runs = new List<(long Offset, long Length)>();
        foreach (var (g, low, length, regionStart) in RegionSpans())
        {
            foreach (var p in Layout.Params.Where(p => p.Group == g && p.Shape.Length >= 2).OrderBy(Layout.FullOffset))
            {
                long a = Math.Max(Layout.FullOffset(p), low), b = Math.Min(Layout.FullOffset(p) + p.Numel, low + length);
                if (b <= a) continue;
                long at = regionStart + a - low;
                if (runs.Count > 0 && runs[^1].Offset + runs[^1].Length == at) runs[^1] = (runs[^1].Offset, runs[^1].Length + b - a);
                else runs.Add((at, b - a));
            }
        }
        return runs;
    }

    /// <summary>
    /// Collective: rank 0's full fp32 vector (in host memory) to every rank, one stage at a time through the device
    /// when the communicator needs device tensors.
    /// </summary>
    public void BroadcastFromRank0(Tensor full)
    {
        using var scope = NewDisposeScope();
        foreach (var g in Layout.Groups)
        {
            var slice = full.narrow(0, g.FullOffset, g.Padded);
            if (slice.device_type == _device.type) { _comm.Broadcast(slice, 0); continue; }
            // Rank 0 sends its values; the others only receive (nothing of theirs crosses to the device, or back for rank 0).
            using var onDevice = _comm.Rank == 0 ? slice.to(_device) : empty(g.Padded, dtype: ScalarType.Float32, device: _device);
            _comm.Broadcast(onDevice, 0);
            if (_comm.Rank != 0) slice.copy_(onDevice);
        }
    }

    /// <summary>
    /// Where this rank's optimizer region lies in full coordinates, group by group: (group, first full index,
    /// length, first region index). DDP's region is the whole full vector; ZeRO's is this rank's shard of each group.
    /// </summary>
    IEnumerable<(int Group, long FullStart, long Length, long RegionStart)> RegionSpans() => Layout.Groups.Select(g => Zero == 0
        ? (g.Index, g.FullOffset, g.Padded, g.FullOffset)
        : (g.Index, g.FullOffset + Rank * g.ShardLength, g.ShardLength, g.ShardOffset));

    /// <summary>A full-coordinates vector's part that this rank's optimizer owns (all of it for DDP).</summary>
    Tensor ToRegion(Tensor full) => Zero == 0
        ? full
        : cat(RegionSpans().Select(r => full.narrow(0, r.FullStart, r.Length)).ToList(), 0);

    /// <summary>
    /// One optimizer step over <paramref name="microBatches"/> (gradient accumulation: the loss of each is divided
    /// by their count). Returns the mean loss over micro-batches and ranks.
    /// </summary>
    public float Step(IReadOnlyList<(Tensor Input, Tensor Target)> microBatches, double lr)
    {
        if (microBatches.Count == 0) throw new ArgumentException("a step needs at least one micro-batch");
        double loss = 0;
        for (var k = 0; k < microBatches.Count; k++)
        {
            using var l = ForwardBackward(microBatches[k].Input, microBatches[k].Target, microBatches.Count, k == microBatches.Count - 1);
            loss += l.item<float>(); // sync point
        }
        FinishStep(lr).Dispose();
        return AverageAcrossRanks(loss);
    }

    readonly List<Task> _pending = [];
    Tensor? _zero3Grad;

    /// <summary>
    /// One micro-step, for a caller that drives the loop: forward and backward stage by stage (the loss is divided
    /// by <paramref name="microSteps"/>); on the <paramref name="last"/> micro-step each stage's bucket is reduced
    /// as soon as its backward is done (ZeRO-3: every micro-step). Returns this rank's loss divided by
    /// <paramref name="microSteps"/>, detached, on the device (no host sync). Follow the last micro-step with
    /// <see cref="FinishStep"/>.
    /// </summary>
    public Tensor ForwardBackward(Tensor x, Tensor y, int microSteps, bool last)
    {
        if (Zero == 3)
        {
            // This rank's shard of the gradients, summed over micro-steps: in fp32 when there are several to sum, in
            // the compute dtype (what the reduce-scatter delivers, so nothing is lost) when there is one: 2 bytes a
            // parameter over N ranks, as the ZeRO paper counts them.
            var accDtype = microSteps == 1 ? _dtype : ScalarType.Float32;
            if (_zero3Grad is null || _zero3Grad.dtype != accDtype)
            {
                _zero3Grad?.Dispose();
                _zero3Grad = zeros(Layout.ShardLength, dtype: accDtype, device: _device).DetachFromDisposeScope();
            }
            return Zero3Pass(x, y, microSteps, _zero3Grad);
        }
        return StagedPass(x, y, microSteps, last ? g => OnStageReady(g, _pending) : null);
    }

    /// <summary>
    /// Orders the update after the reductions (on the device: no host sync with NCCL), clips to the global norm,
    /// updates, publishes the parameters and drops the gradients. Returns the pre-clip norm as a device scalar
    /// (0 when clipping is off), owned by the caller.
    /// </summary>
    public Tensor FinishStep(double lr)
    {
        foreach (var t in _pending) _comm.WaitOnDevice(t);
        _pending.Clear();
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            ClipAndUpdate(RegionGrad(), lr);
            _zero3Grad?.zero_();
        }
        PublishParameters();
        ZeroGrad();
        return _lastNorm!.detach();
    }

    /// <summary>
    /// For a caller that ran forward and backward itself (gradients in each parameter's .grad, accumulated over
    /// its micro-steps): launches the bucket reductions in reverse stage order, all at once and asynchronously,
    /// then clips, updates and publishes. No overlap with backward in this form. Returns the pre-clip global norm.
    /// Not for ZeRO-3, whose parameters exist only inside <see cref="Step"/>.
    /// </summary>
    public Tensor ReduceAndStep(double lr)
    {
        if (Zero == 3) throw new InvalidOperationException("ZeRO-3 runs forward and backward itself: call Step");
        var pending = new List<Task>();
        using (NewDisposeScope()) // the bucket views; StagedPass has its own scope, this path had none
        {
            for (var g = Layout.Groups.Count - 1; g >= 0; g--) OnStageReady(g, pending);
            foreach (var t in pending) _comm.WaitOnDevice(t);
        }
        using (var scope = NewDisposeScope())
        using (no_grad())
            ClipAndUpdate(RegionGrad(), lr);
        PublishParameters();
        return _lastNorm!.detach();
    }

    /// <summary>This rank's reduced gradient over its optimizer region, in fp32 (a new tensor: the update may scale it).</summary>
    Tensor RegionGrad() => Zero switch
    {
        0 => _fullGrad!.to(ScalarType.Float32, copy: true),
        1 => ToRegion(_fullGrad!).to(ScalarType.Float32, copy: true),
        2 => ShardGradAndFreeStaging(),
        _ => _zero3Grad?.to(ScalarType.Float32, copy: true) ?? zeros(Layout.ShardLength, dtype: ScalarType.Float32, device: _device),
    };

    /// <summary>
    /// Drops the parameters' accumulated gradients (PyTorch's set_to_none): the next backward hands each parameter
    /// a fresh gradient instead of adding into a zeroed one, and the copy into the flat buffer is the only pass.
    /// </summary>
    public void ZeroGrad()
    {
        foreach (var (_, p, _) in _model.Parameters) p.grad = null;
    }

    // ZeRO-2 keeps only its shard of the gradients: each finished stage's gradients are staged in a buffer of
    // their own for the reduce-scatter, and a stage's buffer is freed two stages later, once the compute stream
    // has been made to wait for its reduce-scatter (so the memory cannot go to a kernel while NCCL still reads it).
    // At most about three stages' gradients exist in full coordinates at once, as with DeepSpeed's buckets.
    readonly List<(Tensor Staging, Task Task)> _staged = [];
    const int StagesInFlight = 2;

    void StageForReduceScatter(int g, List<Task> pending)
    {
        var gs = Layout.Groups[g];
        var staging = zeros(gs.Padded, dtype: _dtype, device: _device).DetachFromDisposeScope();
        _copies.GradsToFlat(g, staging, gs.FullOffset);
        var task = _comm.ReduceScatterAsync(staging, _shardGrad!.narrow(0, gs.ShardOffset, gs.ShardLength), ReduceOp.Avg);
        pending.Add(task);
        _staged.Add((staging, task));
        while (_staged.Count > StagesInFlight) FreeOldestStaging();
    }

    void FreeOldestStaging()
    {
        var (staging, task) = _staged[0];
        _comm.WaitOnDevice(task);
        staging.Dispose();
        _staged.RemoveAt(0);
    }

    Tensor ShardGradAndFreeStaging()
    {
        while (_staged.Count > 0) FreeOldestStaging();
        return _shardGrad!.to(ScalarType.Float32, copy: true);
    }

    // Called as each stage's backward finishes on the last micro-step (stages arrive last to first).
    void OnStageReady(int g, List<Task> pending)
    {
        if (Zero == 2)
        {
            StageForReduceScatter(g, pending);
            return;
        }
        _copies.GradsToFlat(g, _fullGrad!);
        foreach (var (low, high) in _buckets)
        {
            if (low != g) continue;
            var start = Layout.Groups[low].FullOffset;
            var end = Layout.Groups[high].FullOffset + Layout.Groups[high].Padded;
            pending.Add(_comm.AllReduceAsync(_fullGrad!.narrow(0, start, end - start), ReduceOp.Avg));
        }
    }

    /// <summary>Forward and backward of one micro-batch with stage boundaries cut, calling <paramref name="ready"/> per finished stage.</summary>
    Tensor StagedPass(Tensor x, Tensor y, int microSteps, Action<int>? ready)
    {
        using var scope = NewDisposeScope();
        var n = _model.Stages.Count;
        var inputs = new Tensor[n];
        var outputs = new Tensor[n];
        var h = x;
        for (var g = 0; g < n; g++)
        {
            inputs[g] = g == 0 ? x : h.detach().requires_grad_(true);
            outputs[g] = _model.Stages[g].Forward(inputs[g]);
            h = outputs[g];
        }
        var value = BackwardFromLoss(h, y, microSteps);
        ready?.Invoke(n - 1);
        for (var g = n - 2; g >= 0; g--)
        {
            outputs[g].backward([inputs[g + 1].grad!]);
            ready?.Invoke(g);
        }
        return value;
    }

    /// <summary>
    /// The backward of the head stage from the loss of its output divided by the micro-step count. Called inside a
    /// pass's dispose scope: the loss value it returns, detached, is moved out of that scope (the pass's result).
    /// </summary>
    Tensor BackwardFromLoss(Tensor headOutput, Tensor y, int microSteps)
    {
        var scaled = _model.Loss(headOutput, y).DivHeld(microSteps);
        var value = scaled.detach().MoveToOuterDisposeScope();
        scaled.backward();
        return value;
    }

    // The clip stays on the device: the norm's square is all-reduced there (ZeRO: each rank holds one shard of the
    // gradient) and max(1, norm / clip) divides the gradient inside the fused AdamW kernel. No host sync.
    void ClipAndUpdate(Tensor regionGrad, double lr)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var clip = _options.Optimizer.GradClip;
        Tensor? scale = null;
        Tensor norm;
        if (clip > 0)
        {
            var sumsq = linalg.vector_norm(regionGrad).square().reshape(1);
            if (Zero > 0) _comm.WaitOnDevice(_comm.AllReduceAsync(sumsq, ReduceOp.Sum));
            norm = sumsq.sqrt().reshape([]);
            scale = HeldScalars.ClipDivisor(norm, clip);
        }
        else norm = zeros([], ScalarType.Float32, _device);
        _lastNorm?.Dispose();
        _lastNorm = norm.DetachFromDisposeScope();
        _adam.Step(regionGrad, lr, scale);
    }

    Tensor? _lastNorm;

    /// <summary>Global gradient norm before clipping, from the last step (0 when clipping is off). A host sync.</summary>
    public double LastGradNorm => _lastNorm is null ? 0 : _lastNorm.item<float>();

    /// <summary>Makes the compute parameters match the fp32 masters again (after a step or a checkpoint load).</summary>
    public void PublishParameters()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        switch (Zero)
        {
            case 0:
                _fullParams!.copy_(_adam.Master);
                break;
            case 1 or 2:
                // The gathers write the parameters' own storage; compute waits for them on the device.
                var shard = _adam.Master.to(_dtype);
                var tasks = Layout.Groups.Select(gs => _comm.AllGatherAsync(shard.narrow(0, gs.ShardOffset, gs.ShardLength),
                    _fullParams!.narrow(0, gs.FullOffset, gs.Padded))).ToList();
                foreach (var t in tasks) _comm.WaitOnDevice(t);
                break;
            default:
                _paramShard!.copy_(_adam.Master);
                break;
        }
    }

    float AverageAcrossRanks(double value)
    {
        using var t = tensor(new[] { (float)value }, device: _device);
        _comm.AllReduce(t, ReduceOp.Avg);
        using var host = t.cpu(); // held until item() has read it (Step runs outside any dispose scope)
        return host.item<float>();
    }

    /// <summary>Mean loss of the model on one batch (no gradients), averaged over ranks; ZeRO-3 gathers stage by stage.</summary>
    public float Evaluate(Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        Tensor logits;
        using (MaterializeAll()) logits = _model.Forward(x);
        return AverageAcrossRanks(_model.Loss(logits, y).item<float>());
    }

    public void Dispose()
    {
        _adam.Dispose();
        _lastNorm?.Dispose();
        foreach (var (staging, _) in _staged) staging.Dispose();
        _fullGrad?.Dispose(); _fullParams?.Dispose(); _shardGrad?.Dispose(); _paramShard?.Dispose();
        foreach (var b in _gatherBuffers ?? []) b.Dispose();
    }
}
