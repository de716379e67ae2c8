using System.Globalization;
using System.Text;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Experiments.Search;

/// <summary>The best trial of one model size: lowest final validation loss among its completed trials.</summary>
public sealed record BestTrial(long N, string Key, TrialConfig Config, double Loss);

/// <summary>
/// A search's results, from the sweep's status: every trial with its configuration, rung losses and outcome
/// (search.csv), and the best configuration per size (best.csv; its curve is metrics/KEY.json, and best_curves.csv
/// repeats it). Risk: a trial stopped by ASHA has a loss only at its rungs, never a final one, so only completed
/// trials compete for best.
/// </summary>
public static class SearchResults
{
    public static IReadOnlyList<BestTrial> BestPerSize(IEnumerable<SweepRunStatus> runs) =>
        [.. runs.Where(r => r.Plan.Trial is not null)
            .GroupBy(r => r.Plan.NonEmbeddingParams)
            .OrderBy(g => g.Key)
            .Select(g => g.Where(r => r is { State: RunState.Completed, ValLoss: not null })
                .OrderBy(r => r.ValLoss).ThenBy(r => r.Plan.Trial!.Index)
                .Select(r => new BestTrial(g.Key, r.Plan.Key, r.Plan.Trial!, r.ValLoss!.Value))
                .FirstOrDefault())
            .OfType<BestTrial>()];

    /// <summary>Writes search.csv, best.csv and best_curves.csv into the sweep folder (nothing for a sweep without a search).</summary>
    public static void Write(SweepStatus status)
    {
        if (status.Spec?.Search is null) return;
        var inv = CultureInfo.InvariantCulture;
        var all = new StringBuilder("N,key,lr,warmup_steps,weight_decay,beta2,batch,state,final_loss,stopped_at_tokens,rung_losses\n");
        foreach (var r in status.Runs.Where(r => r.Plan.Trial is not null))
        {
            var t = r.Plan.Trial!;
            all.Append(inv, $"{r.Plan.NonEmbeddingParams},{r.Plan.Key},{t.Lr:G6},{t.WarmupSteps},{t.WeightDecay:G6},{t.Beta2:G6},{t.Batch},")
               .Append(inv, $"{(r.StoppedAtTokens is not null ? "Stopped" : r.State?.ToString() ?? "Queued")},{r.ValLoss:G6},{r.StoppedAtTokens},")
               .Append(string.Join(' ', r.RungLosses.Select(l => l.ToString("G6", inv)))).Append('\n');
        }
        var best = new StringBuilder("N,key,lr,warmup_steps,weight_decay,beta2,batch,loss\n");
        var curves = new StringBuilder("N,key,step,loss\n");
        foreach (var b in BestPerSize(status.Runs))
        {
            var t = b.Config;
            best.Append(inv, $"{b.N},{b.Key},{t.Lr:G6},{t.WarmupSteps},{t.WeightDecay:G6},{t.Beta2:G6},{t.Batch},{b.Loss:G6}\n");
            string metrics = Sweeps.SweepFolder.MetricsFile(status.Folder, b.Key);
            if (!File.Exists(metrics)) continue;
            foreach (var h in Sweeps.StoredJson.ReadRunMetrics(File.ReadAllText(metrics), metrics).History)
                curves.Append(inv, $"{b.N},{b.Key},{h.Step},{h.Loss:G6}\n");
        }
        Sweeps.SweepFolder.WriteFile(status.Folder, "search.csv", all.ToString());
        Sweeps.SweepFolder.WriteFile(status.Folder, "best.csv", best.ToString());
        Sweeps.SweepFolder.WriteFile(status.Folder, "best_curves.csv", curves.ToString());
        if (status.LrRule is { } rule)
            Sweeps.SweepFolder.WriteFile(status.Folder, "lr_rule.txt", string.Create(inv,
                $"lr*(N) = {rule.Coefficient:G6} * N^{rule.Exponent:G4}  (exponent 95% interval [{rule.ExponentLow:G4}, {rule.ExponentHigh:G4}], {rule.Sizes.Length} sizes)\n")
                + (rule.BatchCoefficient is { } bc ? string.Create(inv,
                    $"batch*(N) = {bc:G6} * N^{rule.BatchExponent:G4}  (exponent 95% interval [{rule.BatchExponentLow:G4}, {rule.BatchExponentHigh:G4}], rounded to whole sequences within the searched batches)\n") : ""));
    }
}
