using Orchestrator.Sharding.Checkpointing;
using Orchestrator.Worker.Model;

namespace Orchestrator.Worker.Checkpoints;

/// <summary>
/// Where a forked run (a WSD branch, a retried trunk) starts: another run's checkpoint, taken whole (weights, AdamW
/// moments and step count, RNG, loader cursor), so that training on from it is exactly training on in the run that
/// wrote it. Only the schedule and horizon are the fork's own. The risk is a fork from the wrong state: a fork step
/// that is not the checkpoint's step, or a model of another shape, is refused here with the path and the fix.
/// </summary>
public static class ForkSource
{
    /// <summary>
    /// The checkpoint folder to start from: <paramref name="path"/> itself when it is one (its step must be
    /// <paramref name="forkStep"/> when given), else the run folder's checkpoint of that step, or its newest valid one.
    /// </summary>
    public static string Resolve(string path, int? forkStep, Action<string>? warn = null)
    {
        if (!Directory.Exists(path)) throw new DirectoryNotFoundException($"--init-from {path}: no such folder");
        string dir;
        if (File.Exists(Path.Combine(path, CheckpointManifest.FileName))) dir = path;
        else if (forkStep is int step)
        {
            dir = Path.Combine(path, CheckpointStore.FolderName(step));
            if (!Directory.Exists(dir))
                throw new InvalidDataException($"--init-from {path}: no checkpoint of step {step} there (the run must keep it: checkpoint.at / --checkpoint-at)");
        }
        else dir = CheckpointStore.Resolve(path, warn);
        var manifest = CheckpointStore.Verify(dir);
        if (forkStep is int want && manifest.Step != want)
            throw new InvalidDataException($"--init-from {dir}: it is the checkpoint of step {manifest.Step}, not of the fork step {want}");
        return dir;
    }

    /// <summary>The fork trains the model it was given: its shape must be the checkpoint's.</summary>
    public static void CheckCompatible(LoadedCheckpoint ckpt, GptConfig config, string source)
    {
        if (ckpt.State.Model != config)
            throw new ArgumentException($"--init-from {source}: its model ({Describe(ckpt.State.Model)}) is not this run's ({Describe(config)}); fork with the same model shape");
    }

    static string Describe(GptConfig c) => $"{c.NLayer} layers, {c.NHead} heads, {c.NEmbd} wide, block {c.BlockSize}, vocab {c.VocabSize}, {(c.Mup ? $"μP base width {c.BaseWidth}" : "SP")}";
}
