using Orchestrator.DataPipeline.Loading;
using Orchestrator.Worker.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Training;

/// <summary>Validation loss: the mean loss over the first <c>batches</c> batches of a fresh (seeded) val stream, so
/// every evaluation of a run sees the same tokens.</summary>
public static class Evaluator
{
    public static double Loss(Gpt model, Func<IBatchSource> openVal, DeviceInfo device, int batches)
    {
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var feeder = new BatchFeeder(openVal(), device);
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            Tensor? sum = null;
            for (int i = 0; i < batches; i++)
            {
                var (x, y) = feeder.Next();
                var loss = Gpt.Loss(model.call(x), y);
                sum = sum is null ? loss : sum + loss;
            }
            return sum!.item<float>() / batches; // sync point
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
