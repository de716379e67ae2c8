using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Interop;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Parallel;

// ZeRO-3: parameters live only as shards (_paramShard). Each group (stage) has one gather buffer whose storage
// exists only while the group is in use: the stage's parameters are views of it during a pass, and the storage is
// freed and allocated again in place (StorageResizer, FSDP's storage resize) so that autograd's saved views of the
// parameters survive the free. Forward gathers stage g (with stage g+1's gather already queued: prefetch), runs it
// with autograd, and frees the gathered storage; backward walks the stages from the head, gathers g again into the
// same storage (prefetching g-1), backwards it with the gradient of its output, reduce-scatters its parameter
// gradients into this rank's shard asynchronously, and frees. Nothing is recomputed: activations are kept as in
// DDP, parameters exist gathered for about two stages at a time. Where the storage cannot be resized the
// trainer falls back to Zero3RecomputePass (activation checkpointing at stage boundaries).
public sealed partial class ShardedTrainer
{
    /// <summary>ZeRO-3 without recomputation: how this trainer runs its passes (false: forward recomputed in backward).</summary>
    public bool Zero3FreesStorage => _resizer is not null;

    /// <summary>Why ZeRO-3 recomputes the forward in backward here (null when it does not, or below ZeRO-3).</summary>
    public string? Zero3RecomputeReason { get; private set; }

    StorageResizer? _resizer;
    Tensor[]? _gatherBuffers; // one per group, storage freed outside use; the parameters are views of it during a pass

    /// <summary>Picks the ZeRO-3 pass: storage freed in place unless ORCH_ZERO3=recompute or the resizer is unusable here.</summary>
    void SetUpZero3()
    {
        if (_options.RecomputeZero3) Zero3RecomputeReason = "recompute requested";
        else if (Environment.GetEnvironmentVariable("ORCH_ZERO3") == "recompute") Zero3RecomputeReason = "ORCH_ZERO3=recompute";
        else
        {
            _resizer = StorageResizer.TryCreate(_device, out var reason);
            Zero3RecomputeReason = reason;
        }
        if (_resizer is null) return;
        _gatherBuffers = new Tensor[Layout.Groups.Count];
        for (var g = 0; g < Layout.Groups.Count; g++)
        {
            _gatherBuffers[g] = empty(Layout.Groups[g].Padded, dtype: _dtype, device: _device).DetachFromDisposeScope();
            _resizer.Free(_gatherBuffers[g]);
        }
    }

    /// <summary>Queues the all-gather of group <paramref name="g"/> into a buffer (its own storage allocated again when it has one).</summary>
    (Tensor Buffer, Task Task) Gather(int g)
    {
        var gs = Layout.Groups[g];
        Tensor buf;
        if (_resizer is null) buf = empty(gs.Padded, dtype: _dtype, device: _device);
        else
        {
            buf = _gatherBuffers![g];
            _resizer.Allocate(buf);
        }
        return (buf, _comm.AllGatherAsync(_paramShard!.narrow(0, gs.ShardOffset, gs.ShardLength), buf));
    }

    /// <summary>Drops a gathered buffer's values: its storage freed in place, or the buffer disposed.</summary>
    void DropGathered(Tensor buffer)
    {
        if (_resizer is null) buffer.Dispose();
        else _resizer.Free(buffer);
    }

    /// <summary>
    /// ZeRO-3: gathers every stage's parameters into the model until disposed (evaluation, sampling, export);
    /// a no-op for the other stages, whose parameters are always whole.
    /// </summary>
    public IDisposable MaterializeAll()
    {
        if (Zero != 3) return new Released(() => { });
        var bufs = Enumerable.Range(0, Layout.Groups.Count).Select(Gather).ToList();
        for (var g = 0; g < bufs.Count; g++)
        {
            CommunicatorExtensions.Wait(bufs[g].Task);
            _copies.Materialize(g, bufs[g].Buffer); // disposes its own views (this runs outside any dispose scope)
        }
        return new Released(() =>
        {
            for (var g = 0; g < bufs.Count; g++) { _copies.Release(g, _dtype, _device); DropGathered(bufs[g].Buffer); }
        });
    }

    sealed class Released(Action release) : IDisposable
    {
        int _done;
        public void Dispose() { if (Interlocked.Exchange(ref _done, 1) == 0) release(); }
    }

    /// <summary>After stage <paramref name="g"/>'s backward: its gradients into a flat buffer, reduce-scattered (asynchronously) into this rank's piece.</summary>
    void ReduceScatterStage(int g, List<(Task Task, Tensor Out, int Group)> pending)
    {
        var gs = Layout.Groups[g];
        var flat = zeros(gs.Padded, dtype: _dtype, device: _device);
        _copies.GradsToFlat(g, flat, gs.FullOffset);
        var shardOut = empty(gs.ShardLength, dtype: _dtype, device: _device);
        pending.Add((_comm.ReduceScatterAsync(flat, shardOut, ReduceOp.Avg), shardOut, g));
    }

    /// <summary>Orders compute after each stage's reduce-scatter and adds its piece into this rank's gradient shard.</summary>
    void AccumulateShards(List<(Task Task, Tensor Out, int Group)> pending, Tensor shardGradAcc)
    {
        using var _ = no_grad();
        foreach (var (task, outp, g) in pending)
        {
            _comm.WaitOnDevice(task);
            var gs = Layout.Groups[g];
            shardGradAcc.narrow(0, gs.ShardOffset, gs.ShardLength).add_(outp);
        }
    }

    Tensor Zero3Pass(Tensor x, Tensor y, int microSteps, Tensor shardGradAcc) =>
        _resizer is null ? Zero3RecomputePass(x, y, microSteps, shardGradAcc) : Zero3ReshardPass(x, y, microSteps, shardGradAcc);

    Tensor Zero3ReshardPass(Tensor x, Tensor y, int microSteps, Tensor shardGradAcc)
    {
        using var scope = NewDisposeScope();
        var n = _model.Stages.Count;
        var gathering = new Dictionary<int, Task>(); // groups whose storage holds (or is receiving) gathered values
        var materialized = new HashSet<int>();       // groups whose parameters are views of their buffer (this pass)
        void Prefetch(int stage)
        {
            if (stage < 0 || stage >= n) return;
            foreach (var g in _needs[stage]) if (!gathering.ContainsKey(g)) gathering[g] = Gather(g).Task;
        }
        void Use(int stage)
        {
            foreach (var g in _needs[stage])
            {
                _comm.WaitOnDevice(gathering[g]); // again for a group two stages share: a no-op once it has finished
                // Parameters become views once per pass; later frees and gathers change the storage under them.
                if (materialized.Add(g)) _copies.Materialize(g, _gatherBuffers![g]);
            }
        }
        // Frees the storage of the groups no stage still to run (in this phase) needs.
        void FreeAfter(int stage, IEnumerable<int> remaining)
        {
            var keep = remaining.SelectMany(s => _needs[s]).ToHashSet();
            foreach (var g in _needs[stage])
            {
                if (keep.Contains(g) || !gathering.Remove(g)) continue;
                _resizer!.Free(_gatherBuffers![g]);
            }
        }

        var inputs = new Tensor[n];
        var outputs = new Tensor[n];
        var h = x;
        for (var g = 0; g < n; g++)
        {
            Prefetch(g);
            Prefetch(g + 1);
            Use(g);
            inputs[g] = g == 0 ? x : h.detach().requires_grad_(true);
            outputs[g] = h = _model.Stages[g].Forward(inputs[g]);
            // The head stays for the backward, which starts with it (as does whatever it shares).
            FreeAfter(g, Enumerable.Range(g + 1, n - g - 1).Append(n - 1));
        }

        var pending = new List<(Task Task, Tensor Out, int Group)>();
        Tensor? value = null;
        for (var g = n - 1; g >= 0; g--)
        {
            Prefetch(g);
            Prefetch(g - 1);
            Use(g);
            if (g == n - 1) value = BackwardFromLoss(outputs[g], y, microSteps);
            else outputs[g].backward([inputs[g + 1].grad!]);
            ReduceScatterStage(g, pending);
            FreeAfter(g, Enumerable.Range(0, g));
        }
        // Outside a pass the parameters are empty again, as the recompute pass leaves them: reading one is an
        // error about its shape, never a read of freed memory.
        foreach (var g in materialized) _copies.Release(g, _dtype, _device);
        AccumulateShards(pending, shardGradAcc);
        return value!;
    }
}
