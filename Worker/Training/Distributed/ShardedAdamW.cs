using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Parallel;
using Orchestrator.Worker.Model;
using Orchestrator.Worker.Optimization;
using Orchestrator.Sharding.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Training.Distributed;

/// <summary>
/// The multi-rank <see cref="IOptimizerStrategy"/>: Sharding's <see cref="ShardedTrainer"/> (DDP, ZeRO-1/2/3)
/// behind the trainer's seam. The trainer hands each micro-batch to <see cref="ForwardBackward"/>, which runs the
/// GPT stage by stage (embed, blocks, head) so each stage's gradients are reduced while the earlier stages'
/// backward runs (ZeRO-3: gathered per stage, freed after its forward and gathered again for its backward); <see cref="Step"/> then waits for the
/// reductions, clips to the global norm, updates this rank's masters and refreshes the compute parameters. Checkpoints stay the trainer's (full tensors by name, written by rank 0): <see cref="MasterWeights"/>
/// and <see cref="OptimizerState"/> gather the shards, so every rank must call them at the same steps.
/// </summary>
public sealed class ShardedAdamW : IOptimizerStrategy, IMicroStepRunner
{
    readonly ShardedTrainer _inner;
    Tensor? _gatheredMaster, _gatheredAvg, _gatheredAvgSq;

    public ScalarType ComputeDtype { get; }
    public long StepCount => _inner.Optimizer.StepCount;
    public ShardedTrainer Inner => _inner;

    public ShardedAdamW(Gpt model, ICommunicator comm, int zero, AdamWSettings settings, ScalarType computeDtype)
    {
        ComputeDtype = computeDtype;
        var adam = new AdamWOptions(settings.Beta1, settings.Beta2, settings.Eps, settings.WeightDecay, settings.GradClip);
        // set_ cannot change a Parameter's dtype (libtorch reinterprets the storage), so a bf16 run converts the
        // module first (TorchSharp makes new Parameter objects, which the stages are then built from) and hands the
        // exact fp32 weights, as one full vector in host memory, to the trainer for its masters (rank 0's are
        // broadcast). The device never holds an fp32 copy beside the converted model.
        Tensor? fp32 = null;
        if (model.parameters().First().dtype != computeDtype)
        {
            // The constructor runs outside any dispose scope: this one holds the temporaries (detach, views, reshape)
            // until the native calls using them have run, then frees them.
            using (NewDisposeScope())
            using (no_grad())
                fp32 = ShardedTrainer.HostFullVector(GptStages.Of(model), comm.WorldSize).DetachFromDisposeScope();
            model.to(computeDtype);
        }
        try
        {
            _inner = new ShardedTrainer(GptStages.Of(model), comm, new ShardingOptions(zero, AdamW: adam), computeDtype, fp32);
        }
        finally
        {
            fp32?.Dispose();
        }
        if (zero == 3 && !_inner.Zero3FreesStorage && comm.Rank == 0)
            Console.Error.WriteLine($"warning: ZeRO-3 recomputes each stage's forward in backward ({_inner.Zero3RecomputeReason}): about a quarter slower");
    }

    public void ZeroGrad() => _inner.ZeroGrad();

    public Tensor ForwardBackward(Tensor x, Tensor y, int microSteps, bool last) => _inner.ForwardBackward(x, y, microSteps, last);

    public IDisposable MaterializeParameters() => _inner.MaterializeAll();

    public Tensor MeanOverRanks(Tensor scalar)
    {
        var t = scalar.detach().to(ScalarType.Float32).reshape(1).clone();
        _inner.Communicator.AllReduce(t, ReduceOp.Avg);
        return t.reshape(Array.Empty<long>());
    }

    // The trainer ran the micro-steps through ForwardBackward, which already launched the reductions.
    public Tensor Step(double learningRate) => _inner.FinishStep(learningRate);

    public IReadOnlyList<(string Name, Tensor Tensor)> MasterWeights()
    {
        _gatheredMaster?.Dispose();
        // Owned by this object until the next call (the caller's dispose scope only frees the views).
        _gatheredMaster = _inner.GatherFull(_inner.Optimizer.Master).DetachFromDisposeScope();
        return _inner.Views(_gatheredMaster);
    }

    public IReadOnlyList<(string Name, Tensor Tensor)> OptimizerState()
    {
        _gatheredAvg?.Dispose();
        _gatheredAvgSq?.Dispose();
        _gatheredAvg = _inner.GatherFull(_inner.Optimizer.ExpAvg).DetachFromDisposeScope();
        _gatheredAvgSq = _inner.GatherFull(_inner.Optimizer.ExpAvgSq).DetachFromDisposeScope();
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
