using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Model;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Engine;

/// <summary>
/// How the gradients of one step become this rank's gradient over its optimizer region: not at all (world 1),
/// all-reduced in buckets (DDP, ZeRO-1) or reduce-scattered stage by stage (ZeRO-2, ZeRO-3). A strategy owns its
/// buffers. The stage walk calls <see cref="OnStageBackward"/> as each stage's backward finishes (stages arrive
/// last to first), when <see cref="ActsPerStage"/> says the strategy needs that micro-step cut at stage
/// boundaries; <see cref="RegionGradient"/> then waits for what was launched (on the device where the backend
/// can: no host sync with NCCL) and hands the update its fp32 gradient.
/// </summary>
public interface IGradientReduction : IDisposable
{
    /// <summary>Whether micro-step <paramref name="micro"/> of <paramref name="microSteps"/> must be walked stage by stage for this strategy.</summary>
    bool ActsPerStage(int micro, int microSteps);

    /// <summary>Stage <paramref name="group"/>'s gradients are final for this micro-step (only on micro-steps it acts on).</summary>
    void OnStageBackward(int group, int micro, int microSteps);

    /// <summary>
    /// For a caller that ran backward over the whole model itself: launches, in reverse stage order, what
    /// <see cref="OnStageBackward"/> would have launched on the step's last micro-step.
    /// </summary>
    void ReduceAll();

    /// <summary>This rank's reduced gradient over its region, in fp32 (owned by the strategy or the caller's scope; the update may scale it). Drops the parameters' gradients.</summary>
    Tensor RegionGradient();
}

/// <summary>World 1: nothing to reduce. The parameters' gradients are copied into one fp32 buffer the strategy owns (the bf16 to fp32 conversion the update needs; the only pass over them).</summary>
public sealed class NoReduction(GroupCopies copies, FlatLayout layout, Device device) : IGradientReduction
{
    readonly Tensor _grad = zeros(layout.PaddedTotal, dtype: ScalarType.Float32, device: device).DetachFromDisposeScope();

    public bool ActsPerStage(int micro, int microSteps) => false;
    public void OnStageBackward(int group, int micro, int microSteps) { }
    public void ReduceAll() { }

    public Tensor RegionGradient()
    {
        for (var g = 0; g < layout.Groups.Count; g++) copies.GradsToFlat(g, _grad);
        return _grad;
    }

    public void Dispose() => _grad.Dispose();
}

/// <summary>
/// DDP and ZeRO-1: on the last micro-step each finished stage's gradients go into a full-coordinates buffer in the
/// compute dtype, and each bucket (consecutive stages from the last, at least <c>bucketBytes</c>) is all-reduced
/// asynchronously as soon as its lowest stage is in, overlapping the earlier stages' backward. Earlier micro-steps
/// reduce nothing (DDP's no_sync): gradients accumulate in the parameters.
/// </summary>
public sealed class BucketedAllReduce : IGradientReduction
{
    readonly GroupCopies _copies;
    readonly FlatLayout _layout;
    readonly OptimizerRegion _region;
    readonly ICommunicator _comm;
    readonly Tensor _fullGrad;
    readonly List<Task> _pending = [];

    /// <summary>Bucket boundaries as (first stage, last stage), in launch order.</summary>
    public IReadOnlyList<(int Low, int High)> Buckets { get; }

    public BucketedAllReduce(GroupCopies copies, OptimizerRegion region, ICommunicator comm, ScalarType dtype, Device device, long bucketBytes)
    {
        _copies = copies; _layout = region.Layout; _region = region; _comm = comm;
        _fullGrad = zeros(_layout.PaddedTotal, dtype: dtype, device: device).DetachFromDisposeScope();
        Buckets = PlanBuckets(_layout, bucketBytes, (int)_fullGrad.element_size());
    }

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

    public bool ActsPerStage(int micro, int microSteps) => micro == microSteps - 1;

    public void OnStageBackward(int group, int micro, int microSteps)
    {
        _copies.GradsToFlat(group, _fullGrad);
        foreach (var (low, high) in Buckets)
        {
            if (low != group) continue;
            var start = _layout.Groups[low].FullOffset;
            var end = _layout.Groups[high].FullOffset + _layout.Groups[high].Padded;
            using var bucket = _fullGrad.narrow(0, start, end - start); // the communicator keeps its own reference while queued
            _pending.Add(_comm.AllReduceAsync(bucket, ReduceOp.Avg));
        }
    }

    public void ReduceAll()
    {
        for (var g = _layout.Groups.Count - 1; g >= 0; g--) OnStageBackward(g, 0, 1);
    }

    public Tensor RegionGradient()
    {
        foreach (var t in _pending) _comm.WaitOnDevice(t);
        _pending.Clear();
        return _region.Of(_fullGrad).to(ScalarType.Float32, copy: true);
    }

    public void Dispose() => _fullGrad.Dispose();
}
