using static TorchSharp.torch;

namespace Orchestrator.Worker.Optimization;

/// <summary>
/// Everything the trainer does to parameters, gradients and optimizer state, behind one seam so a data-parallel or
/// ZeRO-sharded implementation can replace the single-process one (<see cref="LocalAdamW"/>). The trainer calls, per
/// optimizer step: forward/backward on the model's compute parameters (gradients land where the strategy put them),
/// then <see cref="Step"/>, then <see cref="ZeroGrad"/>.
/// </summary>
public interface IOptimizerStrategy : IDisposable
{
    /// <summary>dtype of the model's compute parameters (bf16 on CUDA, fp32 on CPU); masters are always fp32.</summary>
    ScalarType ComputeDtype { get; }

    /// <summary>Optimizer steps taken (AdamW's t, used for bias correction); restored from checkpoints.</summary>
    long StepCount { get; }

    /// <summary>Zeroes the accumulated gradients in place (no re-allocation).</summary>
    void ZeroGrad();

    /// <summary>
    /// After the last micro-step's backward: reduce gradients (multi-rank implementations), clip to the global norm,
    /// AdamW on the fp32 masters, refresh the compute copies. Returns the pre-clip global gradient norm as a device
    /// scalar; reading it is a host sync, so the trainer only does that at log steps.
    /// </summary>
    Tensor Step(double learningRate);

    /// <summary>fp32 master weights by parameter name (device views; copy before keeping them).</summary>
    IReadOnlyList<(string Name, Tensor Tensor)> MasterWeights();

    /// <summary>AdamW moments by name ("exp_avg.NAME", "exp_avg_sq.NAME"; device views).</summary>
    IReadOnlyList<(string Name, Tensor Tensor)> OptimizerState();

    /// <summary>Restores masters (and moments when given) by name, and the step count; refreshes compute copies.</summary>
    void Load(IReadOnlyDictionary<string, Tensor> weights, IReadOnlyDictionary<string, Tensor>? optimizerState, long stepCount);
}

/// <summary>AdamW and clipping hyperparameters (nanoGPT's defaults for GPT-2).</summary>
public sealed record AdamWSettings(double Beta1 = 0.9, double Beta2 = 0.95, double Eps = 1e-8, double WeightDecay = 0.1, double GradClip = 1.0);
