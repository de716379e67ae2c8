using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Model;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Engine;

/// <summary>
/// Where the compute parameters live between and during steps: whole on every rank (<see cref="ReplicatedParameters"/>),
/// or only as this rank's shard, gathered a stage at a time for the pass (<see cref="FreedInPlaceParameters"/>,
/// <see cref="RecomputedParameters"/>). A strategy owns its buffers. The stage walk calls the four stage hooks around
/// each stage's forward and backward when <see cref="ActsPerStage"/>; <see cref="Publish"/> makes the compute
/// parameters match the fp32 masters after an update or a checkpoint load.
/// </summary>
public interface IParameterResidency : IDisposable
{
    /// <summary>Whether the walk must cut every pass at stage boundaries and call the hooks.</summary>
    bool ActsPerStage { get; }

    /// <summary>Whether the forward runs without autograd and each stage is recomputed in backward (only its input kept).</summary>
    bool RecomputesInBackward { get; }

    void BeforeForward(int stage);
    void AfterForward(int stage);
    void BeforeBackward(int stage);
    void AfterBackward(int stage);

    /// <summary>After a pass's last backward: parameters back to how they are between passes.</summary>
    void EndPass();

    /// <summary>The compute parameters from <paramref name="master"/> (this rank's fp32 optimizer region).</summary>
    void Publish(Tensor master);

    /// <summary>Every stage's parameters whole in the model until disposed (evaluation, sampling, export); a no-op when they always are.</summary>
    IDisposable MaterializeAll();
}

/// <summary>
/// World 1, DDP, ZeRO-1 and ZeRO-2: every rank holds all compute parameters, as views of one flat buffer in the
/// compute dtype, so publishing is one conversion (masters replicated) or the all-gather of every rank's updated
/// shard straight into the parameters' storage (ZeRO-1/2), with no per-parameter copies.
/// </summary>
public sealed class ReplicatedParameters : IParameterResidency
{
    readonly FlatLayout _layout;
    readonly ICommunicator _comm;
    readonly ScalarType _dtype;
    readonly bool _mastersSharded;
    readonly Tensor _full;

    /// <param name="initial">The full fp32 vector the parameters start from (any device).</param>
    public ReplicatedParameters(GroupCopies copies, FlatLayout layout, ICommunicator comm, ScalarType dtype, Device device, Tensor initial, bool mastersSharded)
    {
        _layout = layout; _comm = comm; _dtype = dtype; _mastersSharded = mastersSharded;
        _full = initial.to(dtype, device, copy: true).DetachFromDisposeScope();
        for (var g = 0; g < layout.Groups.Count; g++)
        {
            using var span = _full.narrow(0, layout.Groups[g].FullOffset, layout.Groups[g].Padded);
            copies.Materialize(g, span);
        }
    }

    public bool ActsPerStage => false;
    public bool RecomputesInBackward => false;
    public void BeforeForward(int stage) { }
    public void AfterForward(int stage) { }
    public void BeforeBackward(int stage) { }
    public void AfterBackward(int stage) { }
    public void EndPass() { }

    public void Publish(Tensor master)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        if (!_mastersSharded)
        {
            _full.copy_(master);
            return;
        }
        // The gathers write the parameters' own storage; compute waits for them on the device.
        var shard = master.to(_dtype);
        var tasks = _layout.Groups.Select(gs => _comm.AllGatherAsync(shard.narrow(0, gs.ShardOffset, gs.ShardLength),
            _full.narrow(0, gs.FullOffset, gs.Padded))).ToList();
        foreach (var t in tasks) _comm.WaitOnDevice(t);
    }

    public IDisposable MaterializeAll() => new Released(() => { });

    public void Dispose() => _full.Dispose();
}

/// <summary>Runs an action once, on the first Dispose.</summary>
sealed class Released(Action release) : IDisposable
{
    int _done;
    public void Dispose() { if (Interlocked.Exchange(ref _done, 1) == 0) release(); }
}
