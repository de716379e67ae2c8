using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Interop;
using Orchestrator.Sharding.Model;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Engine;

/// <summary>
/// ZeRO-3: the compute parameters live only as this rank's shard. Around each stage of a pass the stage's groups
/// (its own, plus the owner of a parameter it shares: a tied head needs the embedding) are all-gathered, with the
/// next stage's gather already queued (prefetch), and dropped once no stage still to run in that phase needs them.
/// The two subclasses differ only in what "dropped" means: the gathered storage freed in place under autograd's
/// saved views (<see cref="FreedInPlaceParameters"/>), or the buffer disposed and the stage recomputed in backward
/// (<see cref="RecomputedParameters"/>). Between passes every parameter is empty: reading one is an error about
/// its shape, never a read of freed memory.
/// </summary>
public abstract class ShardedParameters : IParameterResidency
{
    protected readonly GroupCopies Copies;
    protected readonly FlatLayout Layout;
    protected readonly ICommunicator Comm;
    protected readonly ScalarType Dtype;
    protected readonly Device Device;
    readonly IReadOnlyList<int[]> _needs;
    readonly int _stages;
    readonly Tensor _shard;                                                  // this rank's compute-dtype parameters
    readonly Dictionary<int, (Tensor Buffer, Task Task)> _gathered = [];     // groups holding (or receiving) gathered values
    readonly HashSet<int> _materialized = [];                                // groups whose parameters are views of their buffer

    protected ShardedParameters(GroupCopies copies, FlatLayout layout, ICommunicator comm, StagedModel model, ScalarType dtype, Device device, Tensor masterShard)
    {
        Copies = copies; Layout = layout; Comm = comm; Dtype = dtype; Device = device;
        _needs = model.StageNeeds;
        _stages = model.Stages.Count;
        _shard = masterShard.to(dtype, copy: true).DetachFromDisposeScope();
        for (var g = 0; g < layout.Groups.Count; g++) copies.Release(g, dtype, device);
    }

    public bool ActsPerStage => true;
    public abstract bool RecomputesInBackward { get; }

    /// <summary>Group <paramref name="g"/>'s gather buffer with storage to receive into.</summary>
    protected abstract Tensor Acquire(int g);

    /// <summary>Drops group <paramref name="g"/>'s gathered values; returns whether its parameters stopped being views of the buffer.</summary>
    protected abstract bool Drop(int g, Tensor buffer);

    (Tensor Buffer, Task Task) Gather(int g)
    {
        var gs = Layout.Groups[g];
        var buf = Acquire(g);
        using var piece = _shard.narrow(0, gs.ShardOffset, gs.ShardLength);
        return (buf, Comm.AllGatherAsync(piece, buf));
    }

    void Prefetch(int stage)
    {
        if (stage < 0 || stage >= _stages) return;
        foreach (var g in _needs[stage]) if (!_gathered.ContainsKey(g)) _gathered[g] = Gather(g);
    }

    void Use(int stage)
    {
        foreach (var g in _needs[stage])
        {
            var (buffer, task) = _gathered[g];
            Comm.WaitOnDevice(task); // again for a group two stages share: a no-op once it has finished
            if (_materialized.Add(g)) Copies.Materialize(g, buffer);
        }
    }

    // Drops the groups of this stage that no stage still to run (in this phase) needs.
    void FreeAfter(int stage, IEnumerable<int> remaining)
    {
        var keep = remaining.SelectMany(s => _needs[s]).ToHashSet();
        foreach (var g in _needs[stage])
        {
            if (keep.Contains(g) || !_gathered.Remove(g, out var gathered)) continue;
            if (Drop(g, gathered.Buffer)) _materialized.Remove(g);
        }
    }

    public void BeforeForward(int stage) { Prefetch(stage); Prefetch(stage + 1); Use(stage); }

    // The head stays for the backward, which starts with it (as does whatever it shares).
    public void AfterForward(int stage) => FreeAfter(stage, Enumerable.Range(stage + 1, _stages - stage - 1).Append(_stages - 1));

    public void BeforeBackward(int stage) { Prefetch(stage); Prefetch(stage - 1); Use(stage); }

    public void AfterBackward(int stage) => FreeAfter(stage, Enumerable.Range(0, stage));

    public void EndPass()
    {
        foreach (var g in _materialized) Copies.Release(g, Dtype, Device);
        _materialized.Clear();
    }

    public void Publish(Tensor master)
    {
        using var _ = no_grad();
        _shard.copy_(master);
    }

    public IDisposable MaterializeAll()
    {
        var bufs = Enumerable.Range(0, Layout.Groups.Count).Select(Gather).ToList();
        for (var g = 0; g < bufs.Count; g++)
        {
            CommunicatorExtensions.Wait(bufs[g].Task);
            Copies.Materialize(g, bufs[g].Buffer); // disposes its own views (this runs outside any dispose scope)
        }
        return new Released(() =>
        {
            for (var g = 0; g < bufs.Count; g++) { Copies.Release(g, Dtype, Device); Drop(g, bufs[g].Buffer); }
        });
    }

    public virtual void Dispose() => _shard.Dispose();
}

/// <summary>
/// ZeRO-3 without recomputation: each group has one gather buffer whose storage exists only while the group is in
/// use; it is freed and allocated again in place (<see cref="StorageResizer"/>, FSDP's storage resize), so the
/// parameters stay views of it for the whole pass and autograd's saved views survive the free. Activations are kept
/// as in DDP; parameters exist gathered for about two stages at a time.
/// </summary>
public sealed class FreedInPlaceParameters : ShardedParameters
{
    readonly StorageResizer _resizer;
    readonly Tensor[] _buffers;

    public FreedInPlaceParameters(GroupCopies copies, FlatLayout layout, ICommunicator comm, StagedModel model, ScalarType dtype, Device device,
        Tensor masterShard, StorageResizer resizer) : base(copies, layout, comm, model, dtype, device, masterShard)
    {
        _resizer = resizer;
        _buffers = new Tensor[layout.Groups.Count];
        for (var g = 0; g < layout.Groups.Count; g++)
        {
            _buffers[g] = empty(layout.Groups[g].Padded, dtype: dtype, device: device).DetachFromDisposeScope();
            _resizer.Free(_buffers[g]);
        }
    }

    public override bool RecomputesInBackward => false;

    protected override Tensor Acquire(int g)
    {
        _resizer.Allocate(_buffers[g]);
        return _buffers[g];
    }

    // The parameters keep viewing the buffer: the next gather refills the same storage under them.
    protected override bool Drop(int g, Tensor buffer)
    {
        _resizer.Free(buffer);
        return false;
    }

    public override void Dispose()
    {
        foreach (var b in _buffers) b.Dispose();
        base.Dispose();
    }
}

/// <summary>
/// ZeRO-3 where libtorch's storage cannot be freed in place (ORCH_ZERO3=recompute, or the resizer's checks failed):
/// the forward runs without autograd keeping only each stage's input (activation checkpointing at stage
/// boundaries), each gathered buffer is disposed after use, and backward recomputes each stage's forward with
/// autograd. The FSDP + activation-checkpointing pattern; the price is one extra forward per stage.
/// </summary>
public sealed class RecomputedParameters(GroupCopies copies, FlatLayout layout, ICommunicator comm, StagedModel model, ScalarType dtype, Device device, Tensor masterShard)
    : ShardedParameters(copies, layout, comm, model, dtype, device, masterShard)
{
    public override bool RecomputesInBackward => true;

    protected override Tensor Acquire(int g) => empty(Layout.Groups[g].Padded, dtype: Dtype, device: Device).DetachFromDisposeScope();

    protected override bool Drop(int g, Tensor buffer)
    {
        Copies.Release(g, Dtype, Device);
        buffer.Dispose();
        return true;
    }
}
