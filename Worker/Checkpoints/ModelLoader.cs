using Orchestrator.Sharding.Checkpointing;
using Orchestrator.Sharding.Interop;
using Orchestrator.Worker.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Checkpoints;

/// <summary>
/// Builds a <see cref="Gpt"/> from a verified checkpoint for evaluation, sampling and export (fp32): the master
/// weights are read by name from whichever rank shards hold them, whatever world size wrote it.
/// </summary>
public static class ModelLoader
{
    /// <param name="path">A ckpt-NNNNNN folder or a run folder (its newest valid checkpoint).</param>
    public static (Gpt Model, TrainerState State, string Dir) Load(string path, Device device, Action<string>? warn = null)
    {
        TorchRuntime.Initialize();
        var dir = CheckpointStore.Resolve(path, warn);
        var ckpt = CheckpointStore.Load(dir);
        var model = new Gpt(ckpt.State.Model, seed: 0);
        using var reader = new ShardReader(dir, ckpt.Manifest);
        var weights = reader.MasterWeights();
        try
        {
            using (no_grad())
            {
                foreach (var (name, p) in model.named_parameters())
                {
                    if (!weights.TryGetValue(name, out var t) || !t.shape.SequenceEqual(p.shape))
                        throw new InvalidDataException($"{dir}: tensor '{name}' is missing or has the wrong shape for the model in state.json");
                    p.copy_(t);
                }
            }
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
        model.to(device);
        model.eval();
        return (model, ckpt.State, dir);
    }
}
