using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Engine;
using Orchestrator.Worker.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Training.Distributed;

/// <summary>
/// Builds the <see cref="StepEngine"/> for a GPT: its stages (<see cref="GptStages"/>), the compute dtype and rank
/// 0's exact fp32 starting weights. Risk it handles: set_ cannot change a Parameter's dtype (libtorch reinterprets the
/// storage), so a bf16 run converts the module first (TorchSharp makes new Parameter objects, which the stages are
/// then built from) and hands the engine the fp32 weights as one full vector in host memory; the device never holds
/// an fp32 copy beside the converted model.
/// </summary>
public static class GptEngine
{
    public static StepEngine Create(Gpt model, ICommunicator comm, TrainOptions o, DeviceInfo device, Action<string> warn)
    {
        var computeDtype = device.ComputeDtype;
        Tensor? fp32 = null;
        if (model.parameters().First().dtype != computeDtype)
        {
            // The constructor runs outside any dispose scope: this one holds the temporaries (detach, views, reshape)
            // until the native calls using them have run, then frees them.
            using (NewDisposeScope())
            using (no_grad())
                fp32 = FullVectors.HostFullVector(GptStages.Of(model), comm.WorldSize).DetachFromDisposeScope();
            model.to(computeDtype);
        }
        StepEngine engine;
        try
        {
            engine = new StepEngine(GptStages.Of(model), comm, new EngineOptions(o.Zero, AdamW: o.Adam, FusedAdamW: o.FusedAdamW), computeDtype, fp32);
        }
        finally
        {
            fp32?.Dispose();
        }
        if (o.Zero == 3 && !engine.Zero3FreesStorage && comm.Rank == 0)
            warn($"ZeRO-3 recomputes each stage's forward in backward ({engine.Zero3RecomputeReason}): about a quarter slower");
        return engine;
    }
}
