using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Parallel;
using Orchestrator.Worker.Model;
using Orchestrator.Worker.Optimization;
using Orchestrator.Sharding.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Training.Distributed;

/// <summary>
/// The multi-rank <see cref="IOptimizerStrategy"/>: Sharding's <see cref="ShardedTrainer"/> (DDP or ZeRO-1/2)
/// behind the trainer's seam. The trainer runs forward and backward on the whole model; <see cref="Step"/> then
/// reduces the gradient buckets (all-reduce for DDP/ZeRO-1, reduce-scatter for ZeRO-2, launched in reverse
/// layer order, asynchronously), clips to the global norm, updates this rank's masters and refreshes the compute
/// parameters. Checkpoints stay the trainer's (full tensors by name, written by rank 0): <see cref="MasterWeights"/>
/// and <see cref="OptimizerState"/> gather the shards, so every rank must call them at the same steps.
/// </summary>
public sealed class ShardedAdamW : IOptimizerStrategy
{
    readonly ShardedTrainer _inner;
    Tensor? _gatheredMaster, _gatheredAvg, _gatheredAvgSq;

    public ScalarType ComputeDtype { get; }
    public long StepCount => _inner.Optimizer.StepCount;
    public ShardedTrainer Inner => _inner;

    public ShardedAdamW(Gpt model, ICommunicator comm, int zero, AdamWSettings settings, ScalarType computeDtype)
    {
        if (zero == 3)
            throw new ArgumentException("--zero 3 is not available for `orch train` yet: the GPT ties its head to the token embedding " +
                                        "and the trainer runs the whole forward pass itself; use --zero 0, 1 or 2");
        ComputeDtype = computeDtype;
        var adam = new AdamWOptions(settings.Beta1, settings.Beta2, settings.Eps, settings.WeightDecay, settings.GradClip);
        _inner = new ShardedTrainer(GptStages.Of(model), comm, new ShardingOptions(zero, AdamW: adam), computeDtype);
    }

    public void ZeroGrad() => _inner.ZeroGrad();

    public Tensor Step(double learningRate) => tensor((float)_inner.ReduceAndStep(learningRate));

    public IReadOnlyList<(string Name, Tensor Tensor)> MasterWeights()
    {
        _gatheredMaster?.Dispose();
        _gatheredMaster = _inner.GatherFull(_inner.Optimizer.Master);
        return _inner.Views(_gatheredMaster);
    }

    public IReadOnlyList<(string Name, Tensor Tensor)> OptimizerState()
    {
        _gatheredAvg?.Dispose();
        _gatheredAvgSq?.Dispose();
        _gatheredAvg = _inner.GatherFull(_inner.Optimizer.ExpAvg);
        _gatheredAvgSq = _inner.GatherFull(_inner.Optimizer.ExpAvgSq);
        return _inner.Views(_gatheredAvg).Select(v => ("exp_avg." + v.Name, v.Tensor))
            .Concat(_inner.Views(_gatheredAvgSq).Select(v => ("exp_avg_sq." + v.Name, v.Tensor))).ToList();
    }

    public void Load(IReadOnlyDictionary<string, Tensor> weights, IReadOnlyDictionary<string, Tensor>? optimizerState, long stepCount)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        Tensor Fill(Func<string, string> key, IReadOnlyDictionary<string, Tensor> src)
        {
            var full = _inner.NewFull();
            foreach (var (name, view) in _inner.Views(full))
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
        _inner.LoadFull(master, avg, avgSq, stepCount);
    }

    public void Dispose()
    {
        _gatheredMaster?.Dispose(); _gatheredAvg?.Dispose(); _gatheredAvgSq?.Dispose();
        _inner.Dispose();
    }
}
