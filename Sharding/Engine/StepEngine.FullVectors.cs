using Orchestrator.Sharding.Communication;
using Orchestrator.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Engine;

// Whole-model views of the optimizer state by parameter name, in host memory, gathered from every rank: for tools and
// tests that inspect or set the whole state (checkpoints never gather it: see Sharding/Checkpointing).
public sealed partial class StepEngine
{
    /// <summary>
    /// Collective when the region is sharded (every rank must call it): a region tensor (master, exp_avg or
    /// exp_avg_sq) gathered into the full padded fp32 vector in host memory, one stage at a time through the device,
    /// so a model sharded because it is large never has a full vector there. When replicated, a host copy.
    /// </summary>
    public Tensor GatherFull(Tensor region)
    {
        var full = zeros(Layout.PaddedTotal, dtype: ScalarType.Float32);
        using var scope = NewDisposeScope();
        if (Region.Replicated)
        {
            full.copy_(region);
            return full;
        }
        foreach (var g in Layout.Groups)
        {
            using var gathered = empty(g.Padded, dtype: ScalarType.Float32, device: _device);
            CommunicatorExtensions.Wait(_comm.AllGatherAsync(region.narrow(0, g.ShardOffset, g.ShardLength), gathered));
            full.narrow(0, g.FullOffset, g.Padded).copy_(gathered);
        }
        return full;
    }

    /// <summary>Each parameter's view of a full vector, by name.</summary>
    public IReadOnlyList<(string Name, Tensor Tensor)> Views(Tensor full) =>
        Layout.Params.Select(p => (p.Name, full.ViewOf(Layout.FullOffset(p), p.Numel, p.Shape))).ToList();

    /// <summary>
    /// Restores the optimizer from full vectors (any world size wrote them: each rank keeps its part), in host
    /// memory (<see cref="NewFull"/>) or on the device, and publishes the compute parameters.
    /// </summary>
    public void LoadFull(Tensor master, Tensor? expAvg, Tensor? expAvgSq, long stepCount)
    {
        using (NewDisposeScope()) // the region's slices and concatenations, held until copied (the trainer's constructor has no scope)
        using (no_grad())
        {
            _adam.Master.copy_(Region.Of(master));
            if (expAvg is not null) _adam.ExpAvg.copy_(Region.Of(expAvg));
            if (expAvgSq is not null) _adam.ExpAvgSq.copy_(Region.Of(expAvgSq));
        }
        _adam.StepCount = stepCount;
        PublishParameters();
    }

    /// <summary>An empty full vector in host memory to fill by name (padding stays zero).</summary>
    public Tensor NewFull() => zeros(Layout.PaddedTotal, dtype: ScalarType.Float32);
}

// By name: the fp32 masters and Adam moments as whole parameter-shaped tensors in host memory.
public sealed partial class StepEngine
{
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
