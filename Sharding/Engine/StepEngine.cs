using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Interop;
using Orchestrator.Sharding.Model;
using Orchestrator.Sharding.Optim;
using Orchestrator.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Engine;

/// <summary>What one step returns, on the device (reading either is a host sync).</summary>
/// <param name="Loss">This rank's mean loss over the step's micro-batches.</param>
/// <param name="GradNorm">The global gradient norm before clipping (0 when clipping is off).</param>
public sealed record StepResult(Tensor Loss, Tensor GradNorm);

/// <summary>
/// The training step of a <see cref="StagedModel"/> for every mode, single-process training being world 1 of it.
/// Composed per ZeRO stage from two strategies that own their buffers: an <see cref="IGradientReduction"/> (none,
/// bucketed all-reduce, staged reduce-scatter) and an <see cref="IParameterResidency"/> (replicated, sharded and freed
/// in place, sharded and recomputed); one <see cref="StageWalk"/> runs every forward and backward; one
/// <see cref="FlatAdamW"/> updates this rank's fp32 optimizer region (<see cref="OptimizerRegion"/>).
///
/// <code>
///              world 1       DDP              ZeRO-1           ZeRO-2              ZeRO-3
/// reduction    none          bucketed         bucketed         staged             staged, every micro-step
///                            all-reduce       all-reduce       reduce-scatter     reduce-scatter
/// residency    replicated    replicated       replicated       replicated         sharded: freed in place
///                                             (all-gather)     (all-gather)       or recomputed
/// </code>
///
/// Invariant: <see cref="Step"/> (forward, backward, clip, update, publish) has no host sync and reads no per-step
/// host value: the learning rate and AdamW's step count are device tensors that <see cref="BeginStep"/> sets before
/// it, so the step can be captured and replayed as a CUDA graph. Every rank builds the same model; rank 0's
/// initial weights are broadcast. Whole-model host vectors (starting weights, gathers and loads by name) are
/// <see cref="FullVectors"/>' business.
/// </summary>
public sealed class StepEngine : IDisposable
{
    readonly StagedModel _model;
    readonly ICommunicator _comm;
    readonly EngineOptions _options;
    readonly GroupCopies _copies;
    readonly FlatAdamW _adam;
    readonly IGradientReduction _reduction;
    readonly IParameterResidency _residency;
    readonly StageWalk _walk;
    readonly Device _device;
    Tensor? _lastNorm;

    public FlatLayout Layout { get; }
    public OptimizerRegion Region { get; }
    public int Zero => _options.Zero;
    public ICommunicator Communicator => _comm;
    public FlatAdamW Optimizer => _adam;
    public int Rank => _comm.Rank;
    public ScalarType ComputeDtype { get; }
    public IGradientReduction Reduction => _reduction;
    public IParameterResidency Residency => _residency;

    /// <summary>Whole-model fp32 vectors in host memory: the optimizer state gathered or restored by parameter name.</summary>
    public FullVectors Full { get; }

    /// <summary>Why ZeRO-3 recomputes the forward in backward here (null when it does not, or below ZeRO-3).</summary>
    public string? Zero3RecomputeReason { get; }

    /// <summary>ZeRO-3 without recomputation (false: forward recomputed in backward, or below ZeRO-3).</summary>
    public bool Zero3FreesStorage => _residency is FreedInPlaceParameters;

    /// <param name="computeDtype">
    /// The compute dtype (bf16 on GPUs); the stages' parameters must already be in it (the fp32 masters are taken
    /// from them here and broadcast from rank 0).
    /// </param>
    /// <param name="initialMasters">
    /// Rank 0's starting fp32 weights as a full vector in host memory (<see cref="FullVectors.HostFullVector"/> of the model
    /// before it was converted to the compute dtype); without it they are read from the stages' parameters. The
    /// caller keeps ownership; on ranks other than 0 its contents become rank 0's (the broadcast lands in it).
    /// </param>
    public StepEngine(StagedModel model, ICommunicator comm, EngineOptions options, ScalarType? computeDtype = null, Tensor? initialMasters = null)
    {
        options.Validate();
        _model = model; _comm = comm; _options = options;
        Layout = FlatLayout.Of(model, comm.WorldSize);
        _copies = new GroupCopies(model, Layout);
        Region = new OptimizerRegion(Layout, comm.Rank, replicated: options.Zero == 0);
        var first = model.Parameters[0].Parameter;
        ComputeDtype = computeDtype ?? first.dtype;
        _device = first.device;
        // Callers construct outside any dispose scope (the trainer's constructor): this one holds every temporary
        // below (narrow, detach, reshape, cat, to, views for set_) until the native calls using them have run, then
        // frees them. What the engine keeps is detached from it.
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // set_ cannot change a Parameter's dtype (libtorch reinterprets the storage and fails its bounds check), so
        // the caller converts the module before building the stages and we only check it here.
        foreach (var (name, p, _) in model.Parameters)
            if (p.dtype != ComputeDtype)
                throw new InvalidOperationException(
                    $"parameter {name} is {p.dtype} but the compute dtype is {ComputeDtype}: convert the module (module.to({ComputeDtype})) before building its stages");
        // Everyone starts from rank 0's weights (fp32, so the broadcast copies bits). The full fp32 vector lives in
        // host memory and goes through the device a stage at a time: on the device this rank only ever holds its
        // optimizer region, so ZeRO-3 starts within its 16Ψ/N (a 4Ψ full vector there would cost more than that).
        if (initialMasters is not null && (initialMasters.numel() != Layout.PaddedTotal || initialMasters.dtype != ScalarType.Float32))
            throw new ArgumentException($"initial masters: need {Layout.PaddedTotal} fp32 values (this model's full vector at world {comm.WorldSize}), got {initialMasters.numel()} {initialMasters.dtype}");
        var full = initialMasters ?? FullVectors.HostFullVector(_copies, Layout); // made here: the scope frees it
        if (comm.WorldSize > 1) FullVectors.BroadcastFromRank0(full, Layout, comm, _device);
        _adam = new FlatAdamW(Region.Of(full).to(_device, copy: true).DetachFromDisposeScope(), Region.UpdateRuns(model.LrScale), options.Optimizer, options.FusedAdamW);
        var dtype = ComputeDtype;
        (_residency, Zero3RecomputeReason) = options.Zero switch
        {
            <= 2 => ((IParameterResidency)new ReplicatedParameters(_copies, Layout, comm, dtype, _device, full, mastersSharded: options.Zero > 0), (string?)null),
            _ => ShardedResidency(options, dtype),
        };
        _reduction = options.Zero switch
        {
            0 when comm.WorldSize == 1 => new NoReduction(_copies, Layout, _device),
            <= 1 => new BucketedAllReduce(_copies, Region, comm, dtype, _device, options.BucketBytes),
            2 => new StagedReduceScatter(_copies, Layout, comm, dtype, _device, everyMicroStep: false),
            _ => new StagedReduceScatter(_copies, Layout, comm, dtype, _device, everyMicroStep: true),
        };
        _walk = new StageWalk(model, _residency, _reduction);
        Full = new FullVectors(Layout, Region, comm, _device, _adam, PublishParameters);
    }

    /// <summary>ZeRO-3's residency: storage freed in place unless recompute is asked for or the resizer is unusable here.</summary>
    (IParameterResidency, string?) ShardedResidency(EngineOptions options, ScalarType dtype)
    {
        string? reason;
        StorageResizer? resizer = null;
        if (options.RecomputeZero3) reason = "recompute requested";
        else if (Environment.GetEnvironmentVariable("ORCH_ZERO3") == "recompute") reason = "ORCH_ZERO3=recompute";
        else resizer = StorageResizer.TryCreate(_device, out reason);
        return resizer is null
            ? (new RecomputedParameters(_copies, Layout, _comm, _model, dtype, _device, _adam.Master), reason)
            : (new FreedInPlaceParameters(_copies, Layout, _comm, _model, dtype, _device, _adam.Master, resizer), null);
    }


    /// <summary>
    /// Before <see cref="Step"/>, outside it: the step's learning rate and AdamW's next step count into their device
    /// tensors (no host sync).
    /// </summary>
    public void BeginStep(double learningRate) => _adam.Schedule(learningRate);

    /// <summary>
    /// One optimizer step over micro-batches already on the device (gradient accumulation: each loss is divided by
    /// their count): forward and backward of each, then <see cref="Update"/>. <paramref name="mark"/> is told as each
    /// phase has been queued (profiling: forward, loss, backward or the staged pass, then optimizer). No host sync.
    /// </summary>
    public StepResult Step(IReadOnlyList<(Tensor X, Tensor Y)> microBatches, Action<string>? mark = null)
    {
        if (microBatches.Count == 0) throw new ArgumentException("a step needs at least one micro-batch");
        Tensor? loss = null;
        for (var k = 0; k < microBatches.Count; k++)
        {
            var l = _walk.Run(microBatches[k].X, microBatches[k].Y, k, microBatches.Count, mark);
            loss = loss is null ? l : loss.add_(l);
        }
        var norm = Update();
        mark?.Invoke("optimizer");
        return new StepResult(loss!, norm);
    }

    /// <summary>Forward and backward of micro-batch <paramref name="micro"/> of <paramref name="microSteps"/>; returns its loss divided by <paramref name="microSteps"/>, detached, on the device.</summary>
    public Tensor ForwardBackward(Tensor x, Tensor y, int micro, int microSteps) => _walk.Run(x, y, micro, microSteps);

    /// <summary>
    /// Waits (on the device) for the reductions, clips to the global norm, updates this rank's masters, publishes the
    /// compute parameters and drops the gradients. Returns the pre-clip norm as a device scalar (0 when clipping is
    /// off), owned by the caller.
    /// </summary>
    public Tensor Update()
    {
        using (var scope = NewDisposeScope())
        using (no_grad())
            ClipAndUpdate(_reduction.RegionGradient());
        _residency.Publish(_adam.Master);
        ZeroGrad();
        return _lastNorm!.detach();
    }

    // The clip stays on the device: the norm's square is all-reduced there (ZeRO: each rank holds one shard of the
    // gradient) and max(1, norm / clip) divides the gradient inside the fused AdamW kernel. No host sync.
    void ClipAndUpdate(Tensor regionGrad)
    {
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
        _adam.Update(regionGrad, scale);
    }

    /// <summary>Drops the parameters' gradients (PyTorch's set_to_none): the next backward makes fresh ones.</summary>
    public void ZeroGrad()
    {
        foreach (var (_, p, _) in _model.Parameters) p.grad = null;
    }

    /// <summary>
    /// For a caller that ran forward and backward on the whole model itself (gradients in each parameter's .grad):
    /// schedules <paramref name="lr"/>, launches the reductions in reverse stage order, then updates and publishes.
    /// No overlap with backward in this form; not for ZeRO-3, whose parameters exist only inside the engine's passes.
    /// </summary>
    public Tensor ReduceAndStep(double lr)
    {
        if (_residency.ActsPerStage) throw new InvalidOperationException("ZeRO-3 runs forward and backward itself: call Step");
        BeginStep(lr);
        _reduction.ReduceAll();
        return Update();
    }

    /// <summary>
    /// One whole step from a host learning rate, reading the loss back (a host sync): the mean over micro-batches and
    /// ranks. For tests and tools that drive the engine directly.
    /// </summary>
    public float Step(IReadOnlyList<(Tensor Input, Tensor Target)> microBatches, double lr)
    {
        BeginStep(lr);
        var (loss, norm) = Step(microBatches);
        using (loss)
        using (norm)
        using (var mean = MeanOverRanks(loss))
            return mean.item<float>();
    }

    /// <summary>Collective: the mean of a scalar over all ranks (the reported training loss is the global batch's). A new tensor.</summary>
    public Tensor MeanOverRanks(Tensor scalar)
    {
        var t = scalar.detach().to(ScalarType.Float32).reshape(1).clone();
        if (_comm.WorldSize > 1) _comm.AllReduce(t, ReduceOp.Avg);
        using (t) return t.reshape([]).clone();
    }

    /// <summary>Global gradient norm before clipping, from the last step (0 when clipping is off). A host sync.</summary>
    public double LastGradNorm => _lastNorm is null ? 0 : _lastNorm.item<float>();

    /// <summary>Makes the compute parameters match the fp32 masters again (after a checkpoint load).</summary>
    public void PublishParameters() => _residency.Publish(_adam.Master);

    /// <summary>Every parameter whole in the model until disposed (ZeRO-3 gathers them; a no-op otherwise).</summary>
    public IDisposable MaterializeAll() => _residency.MaterializeAll();

    /// <summary>Mean loss of the model on one batch (no gradients), averaged over ranks; ZeRO-3 gathers every stage first.</summary>
    public float Evaluate(Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        Tensor logits;
        using (MaterializeAll()) logits = _model.Forward(x);
        using var mean = MeanOverRanks(_model.Loss(logits, y));
        return mean.item<float>();
    }

    public void Dispose()
    {
        _adam.Dispose();
        _lastNorm?.Dispose();
        _reduction.Dispose();
        _residency.Dispose();
    }
}
