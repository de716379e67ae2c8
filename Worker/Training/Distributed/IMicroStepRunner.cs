using static TorchSharp.torch;

namespace Orchestrator.Worker.Training.Distributed;

/// <summary>
/// An optimizer strategy that runs each micro-step's forward and backward itself, because it must: DDP reduces
/// each layer's gradient bucket as soon as that layer's backward is done (overlap), and ZeRO-3 gathers each
/// layer's parameters just before use and frees them after. The trainer calls it instead of its own
/// forward/backward when the strategy implements it.
/// </summary>
public interface IMicroStepRunner
{
    /// <summary>Forward and backward of one micro-batch; returns its loss divided by <paramref name="microSteps"/>, detached (no host sync).</summary>
    Tensor ForwardBackward(Tensor x, Tensor y, int microSteps, bool last);

    /// <summary>Collective: the mean of a scalar over all ranks (the reported training loss is the global batch's).</summary>
    Tensor MeanOverRanks(Tensor scalar);

    /// <summary>Makes every parameter whole in the model until disposed (ZeRO-3 evaluation); a no-op otherwise.</summary>
    IDisposable MaterializeParameters();
}
