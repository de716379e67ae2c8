using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Specs;

namespace Orchestrator.Coordinator.Runs;

/// <summary>
/// The checks of a RunSpec against the files it names, where this machine sees them as the workers do (a local
/// cluster, `orch run submit --dry-run`): the data folder exists and holds a prepared corpus (manifest.json, or a
/// nanoGPT .bin corpus), the model's block fits the corpus' block, init_from exists. The failures a worker would
/// otherwise meet only after it was given the run (and which fail the run at once, with no retries), named here
/// before anything starts. Risk: on a machine that does not see the workers' folders these checks would refuse good
/// specs, so callers run them only where the folders are shared (loopback clusters) or when asked (--dry-run).
/// </summary>
public static class RunPreflight
{
    public static IReadOnlyList<string> Problems(RunSpec spec)
    {
        var p = new List<string>();
        if (spec.Trainer == "gpt" && !string.IsNullOrWhiteSpace(spec.Data))
        {
            if (!Directory.Exists(spec.Data))
                p.Add($"data: folder '{spec.Data}' does not exist: run `orch data prepare --out {spec.Data}` first");
            else if (!File.Exists(Path.Combine(spec.Data, "manifest.json")) && !Directory.EnumerateFiles(spec.Data, "*.bin").Any())
                p.Add($"data: '{spec.Data}' is not a prepared corpus (no manifest.json, no nanoGPT .bin files): run `orch data prepare --out {spec.Data}`");
            else if (spec.Model.Preset is null && CorpusBlock.Problem(spec.Data, spec.Model.BlockSize, "model.block_size") is { } block)
                p.Add(block);
        }
        if (spec.InitFrom is { } from && Path.IsPathFullyQualified(from) && !Directory.Exists(from))
            p.Add($"init_from: folder '{from}' does not exist");
        return p;
    }

    /// <summary>Throws <see cref="InvalidRunSpecException"/> listing every problem.</summary>
    public static void Check(RunSpec spec)
    {
        var problems = Problems(spec);
        if (problems.Count > 0) throw new InvalidRunSpecException($"invalid run spec: {string.Join("; ", problems)}");
    }
}
