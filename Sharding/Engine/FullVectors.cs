using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Model;
using Orchestrator.Sharding.Optim;
using Orchestrator.Tensors;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Engine;

/// <summary>
/// A <see cref="StepEngine"/>'s whole-model fp32 vectors in host memory (padded, laid out by its
/// <see cref="FlatLayout"/>): rank 0's starting weights and their broadcast, and the optimizer state gathered or
/// restored by parameter name, for tools and tests (checkpoints never gather it: see Sharding/Checkpointing).
/// Invariant: a full vector crosses the device one stage at a time, so a rank's device memory never holds more than
/// its optimizer region, the reason a model is sharded. Risk: gathers are collective when the region is sharded, so
/// every rank must call them at the same point.
/// </summary>
public sealed class FullVectors
{
    readonly FlatLayout _layout;
    readonly OptimizerRegion _region;
    readonly ICommunicator _comm;
    readonly Device _device;
    readonly FlatAdamW _adam;
    readonly Action _publish;

    /// <param name="publish">Makes the compute parameters match the masters again (after a load).</param>
    internal FullVectors(FlatLayout layout, OptimizerRegion region, ICommunicator comm, Device device, FlatAdamW adam, Action publish)
    {
        (_layout, _region, _comm, _device, _adam, _publish) = (layout, region, comm, device, adam, publish);
    }

    /// <summary>The model's parameters as one full fp32 vector in host memory, laid out for <paramref name="world"/> ranks.</summary>
    public static Tensor HostFullVector(StagedModel model, int world)
    {
        var layout = FlatLayout.Of(model, world);
        return HostFullVector(new GroupCopies(model, layout), layout);
    }

    internal static Tensor HostFullVector(GroupCopies copies, FlatLayout layout)
    {
        var full = zeros(layout.PaddedTotal, dtype: ScalarType.Float32);
        for (var g = 0; g < layout.Groups.Count; g++) copies.ParamsToFlat(g, full);
        return full;
    }

    /// <summary>
    /// Collective: rank 0's full fp32 vector (in host memory) to every rank, one stage at a time through the device
    /// when the communicator needs device tensors.
    /// </summary>
    internal static void BroadcastFromRank0(Tensor full, FlatLayout layout, ICommunicator comm, Device device)
    {
        using var scope = NewDisposeScope();
        foreach (var g in layout.Groups)
        {
            var slice = full.narrow(0, g.FullOffset, g.Padded);
            if (slice.device_type == device.type) { comm.Broadcast(slice, 0); continue; }
            // Rank 0 sends its values; the others only receive (nothing of theirs crosses to the device, or back for rank 0).
            using var onDevice = comm.Rank == 0 ? slice.to(device) : empty(g.Padded, dtype: ScalarType.Float32, device: device);
            comm.Broadcast(onDevice, 0);
            if (comm.Rank != 0) slice.copy_(onDevice);
        }
    }

    /// <summary>
    /// Collective when the region is sharded (every rank must call it): a region tensor (master, exp_avg or
    /// exp_avg_sq) gathered into the full padded fp32 vector in host memory, one stage at a time through the device,
    /// so a model sharded because it is large never has a full vector there. When replicated, a host copy.
    /// </summary>
    Tensor GatherFull(Tensor region)
    {
        var full = zeros(_layout.PaddedTotal, dtype: ScalarType.Float32);
        using var scope = NewDisposeScope();
        if (_region.Replicated)
        {
            full.copy_(region);
            return full;
        }
        foreach (var g in _layout.Groups)
        {
            using var gathered = empty(g.Padded, dtype: ScalarType.Float32, device: _device);
            CommunicatorExtensions.Wait(_comm.AllGatherAsync(region.narrow(0, g.ShardOffset, g.ShardLength), gathered));
            full.narrow(0, g.FullOffset, g.Padded).copy_(gathered);
        }
        return full;
    }

    /// <summary>Each parameter's view of a full vector, by name.</summary>
    IReadOnlyList<(string Name, Tensor Tensor)> Views(Tensor full) =>
        _layout.Params.Select(p => (p.Name, full.ViewOf(_layout.FullOffset(p), p.Numel, p.Shape))).ToList();

    /// <summary>
    /// Restores the optimizer from full vectors (any world size wrote them: each rank keeps its part), in host
    /// memory (<see cref="NewFull"/>) or on the device, and publishes the compute parameters.
    /// </summary>
    void LoadFull(Tensor master, Tensor? expAvg, Tensor? expAvgSq, long stepCount)
    {
        using (NewDisposeScope()) // the region's slices and concatenations, held until copied (the trainer's constructor has no scope)
        using (no_grad())
        {
            _adam.Master.copy_(_region.Of(master));
            if (expAvg is not null) _adam.ExpAvg.copy_(_region.Of(expAvg));
            if (expAvgSq is not null) _adam.ExpAvgSq.copy_(_region.Of(expAvgSq));
        }
        _adam.StepCount = stepCount;
        _publish();
    }

    /// <summary>An empty full vector in host memory to fill by name (padding stays zero).</summary>
    Tensor NewFull() => zeros(_layout.PaddedTotal, dtype: ScalarType.Float32);

    /// <summary>Collective when sharded: the fp32 master weights by parameter name (host tensors the caller owns).</summary>
    public IReadOnlyList<(string Name, Tensor Tensor)> MasterWeights()
    {
        using var full = GatherFull(_adam.Master); // the views keep its storage
        return Views(full);
    }

    /// <summary>Collective when sharded: the Adam moments by name ("exp_avg.NAME", "exp_avg_sq.NAME"; host tensors the caller owns).</summary>
    public IReadOnlyList<(string Name, Tensor Tensor)> OptimizerState()
    {
        using var avg = GatherFull(_adam.ExpAvg);
        using var avgSq = GatherFull(_adam.ExpAvgSq);
        return Views(avg).Select(v => ("exp_avg." + v.Name, v.Tensor))
            .Concat(Views(avgSq).Select(v => ("exp_avg_sq." + v.Name, v.Tensor))).ToList();
    }

    /// <summary>Restores masters (and moments when given) by name, and the step count; publishes the compute parameters.</summary>
    public void Load(IReadOnlyDictionary<string, Tensor> weights, IReadOnlyDictionary<string, Tensor>? optimizerState, long stepCount)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        Tensor Fill(Func<string, string> key, IReadOnlyDictionary<string, Tensor> src)
        {
            var full = NewFull();
            foreach (var (name, view) in Views(full))
            {
                if (!src.TryGetValue(key(name), out var t))
                    throw new InvalidDataException($"checkpoint has no tensor '{key(name)}'; it was written for a different model shape");
                if (!t.shape.SequenceEqual(view.shape))
                    throw new InvalidDataException($"checkpoint tensor '{key(name)}' has shape [{string.Join(",", t.shape)}] but the model needs [{string.Join(",", view.shape)}]");
                view.copy_(t);
            }
            return full;
        }
        var master = Fill(n => n, weights);
        var avg = optimizerState is null ? null : Fill(n => "exp_avg." + n, optimizerState);
        var avgSq = optimizerState is null ? null : Fill(n => "exp_avg_sq." + n, optimizerState);
        LoadFull(master, avg, avgSq, stepCount);
    }
}
