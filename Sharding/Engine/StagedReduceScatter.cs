using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Model;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Engine;

/// <summary>
/// ZeRO-2 and ZeRO-3: each finished stage's gradients are staged in a full-coordinates buffer of their own and
/// reduce-scattered asynchronously into this rank's piece; a stage's staging buffer is freed two stages later, once
/// compute has been made to wait for its reduce-scatter (so NCCL never reads memory a kernel reuses). At most about
/// three stages' gradients exist in full coordinates at once, as with DeepSpeed's buckets.
/// ZeRO-2 reduces once per step (the last micro-step; gradients accumulate in the parameters before): the pieces
/// land straight in the shard, in the compute dtype. ZeRO-3 must reduce every micro-step (its parameters, and so
/// their gradients, are freed after each stage): the pieces are added into the shard, summed in fp32 when there are
/// several micro-steps, in the compute dtype (what the reduce-scatter delivers, so nothing is lost) when there is one.
/// </summary>
public sealed class StagedReduceScatter(GroupCopies copies, FlatLayout layout, ICommunicator comm, ScalarType dtype, Device device, bool everyMicroStep)
    : IGradientReduction
{
    const int StagesInFlight = 2;
    readonly List<(Tensor Staging, Task Task, Tensor? Piece, int Group)> _inFlight = [];
    Tensor? _shard;     // this rank's gradient shard (compute dtype, or fp32 when ZeRO-3 sums micro-steps)
    bool _accumulate;   // whether pieces are added into the shard (ZeRO-3) instead of written into it
    bool _begun;        // this step's first reduction has set the shard up

    public bool ActsPerStage(int micro, int microSteps) => everyMicroStep || micro == microSteps - 1;

    public void OnStageBackward(int group, int micro, int microSteps)
    {
        if (!_begun) Begin(microSteps);
        var gs = layout.Groups[group];
        var staging = zeros(gs.Padded, dtype: dtype, device: device).DetachFromDisposeScope();
        copies.GradsToFlat(group, staging, gs.FullOffset);
        Tensor? piece = null;
        Task task;
        if (_accumulate)
        {
            piece = empty(gs.ShardLength, dtype: dtype, device: device).DetachFromDisposeScope();
            task = comm.ReduceScatterAsync(staging, piece, ReduceOp.Avg);
        }
        else
        {
            using var target = _shard!.narrow(0, gs.ShardOffset, gs.ShardLength);
            task = comm.ReduceScatterAsync(staging, target, ReduceOp.Avg);
        }
        _inFlight.Add((staging, task, piece, group));
        while (_inFlight.Count > StagesInFlight) Retire();
    }

    // The step's first reduction: the shard in the dtype it will be summed in, zeroed when it is summed into.
    void Begin(int microSteps)
    {
        _begun = true;
        _accumulate = everyMicroStep;
        var shardDtype = everyMicroStep && microSteps > 1 ? ScalarType.Float32 : dtype;
        if (_shard is null || _shard.dtype != shardDtype)
        {
            _shard?.Dispose();
            _shard = zeros(layout.ShardLength, dtype: shardDtype, device: device).DetachFromDisposeScope();
        }
        else if (_accumulate) _shard.zero_();
    }

    void Retire()
    {
        var (staging, task, piece, g) = _inFlight[0];
        comm.WaitOnDevice(task);
        staging.Dispose();
        if (piece is not null)
        {
            var gs = layout.Groups[g];
            using (var target = _shard!.narrow(0, gs.ShardOffset, gs.ShardLength)) target.add_(piece);
            piece.Dispose();
        }
        _inFlight.RemoveAt(0);
    }

    public void ReduceAll()
    {
        for (var g = layout.Groups.Count - 1; g >= 0; g--) OnStageBackward(g, 0, 1);
    }

    public Tensor RegionGradient()
    {
        while (_inFlight.Count > 0) Retire();
        var grad = _shard!.to(ScalarType.Float32, copy: true);
        _begun = false;
        return grad;
    }

    public void Dispose()
    {
        foreach (var (staging, _, piece, _) in _inFlight) { staging.Dispose(); piece?.Dispose(); }
        _shard?.Dispose();
    }
}
