using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;
using Orchestrator.Experiments.Reports;

namespace Orchestrator.Experiments.Sweeps;

/// <summary>
/// The sweep's folder on shared storage, Storage/&lt;sweep id&gt;/:
///   status.json        the sweep's status (spec, plan, attempts, results), rewritten as it changes
///   results.csv        N,D,loss of completed runs, trunks left out (`orch fit --input` reads it)
///   metrics/KEY.json   each finished attempt's status with its step history (loss curve)
///   runs/RUN-ID/       each attempt's checkpoints (RunSpec.Checkpoint.Path)
/// Every file is written to a temp name and renamed, so readers never see half a file.
/// </summary>
public static class SweepFolder
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters = { new RunEventKindJson(), new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string For(string storage, string sweepId) => Path.Combine(storage, sweepId);
    public static string RunsDir(string folder) => Path.Combine(folder, "runs");
    public static string MetricsFile(string folder, string key) => Path.Combine(folder, "metrics", key + ".json");

    public static void WriteStatus(SweepStatus status)
    {
        WriteAtomic(Path.Combine(status.Folder, "status.json"), JsonSerializer.Serialize(status, Json));
        var csv = new StringBuilder("N,D,loss,key\n");
        foreach (var r in status.Runs.Where(r => r is { State: RunState.Completed, ValLoss: not null } && r.Plan.Role != RunRole.Trunk))
            csv.Append(CultureInfo.InvariantCulture, $"{r.Plan.NonEmbeddingParams},{r.TrainedTokens ?? r.Plan.Tokens},{r.ValLoss},{r.Plan.Key}\n");
        WriteAtomic(Path.Combine(status.Folder, "results.csv"), csv.ToString());
    }

    public static void WriteMetrics(string folder, string key, RunStatus run) =>
        WriteAtomic(MetricsFile(folder, key), JsonSerializer.Serialize(run, Json));

    public static SweepStatus ReadStatus(string folder)
    {
        string path = Path.Combine(folder, "status.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"'{folder}' is not a sweep folder: it has no status.json", path);
        string json = File.ReadAllText(path);
        if (json.Trim().Length == 0) throw new InvalidDataException($"{path} is empty (expected the sweep's status)");
        return StoredJson.ReadStatus(json, path);
    }

    /// <summary>
    /// Everything a report needs, from the folder alone (no cluster). <paramref name="status"/> comes checked from
    /// <see cref="ReadStatus"/> or the grain; a malformed metrics file is an <see cref="InvalidDataException"/> naming it.
    /// </summary>
    public static SweepResults LoadResults(SweepStatus status)
    {
        var runs = new List<RunResult>();
        foreach (var r in status.Runs)
        {
            var curve = new List<CurvePoint>();
            string metrics = MetricsFile(status.Folder, r.Plan.Key);
            long perStep = status.Spec is { } s ? (long)RunSpecs.BatchOf(s, r.Plan) * r.Plan.Model.BlockSize * s.WorkersPerRun : 0;
            double? seconds = null;
            bool finalIsVal = true;
            if (File.Exists(metrics))
            {
                var run = StoredJson.ReadRunMetrics(File.ReadAllText(metrics), metrics);
                curve.AddRange(run.History.Select(h => new CurvePoint(h.Step, h.Step * perStep, h.Loss, h.ValLoss, h.Lr,
                    h.TokensPerSecond > 0 ? h.TokensPerSecond : null, h.WindowSteps)));
                // The sweep records ValLoss ?? Loss as the run's final loss: without a val loss it is the train loss.
                finalIsVal = run.ValLoss is not null;
                if (run is { StartedAt: { } start, EndedAt: { } end }) seconds = (end - start).TotalSeconds * Math.Max(1, run.WorldSize);
            }
            long d = r.TrainedTokens ?? r.Plan.Tokens;
            runs.Add(new RunResult(r.Plan.Key, r.State?.ToString() ?? "Queued", r.Plan.NonEmbeddingParams,
                d, r.Plan.FlopBudget, r.State == RunState.Completed ? r.ValLoss : null,
                r.Attempts, curve, r.Plan.Role.ToString(), r.Plan.Parent, r.Plan.ForkStep * perStep, seconds)
                {
                    Epochs = status.Spec?.CorpusTrainTokens is > 0 and var unique ? (double)d / unique : null,
                    FinalLossIsVal = finalIsVal,
                });
        }
        return new SweepResults(status.Id, status.Name, runs, status.Spec?.ReportBudgets.ToArray() ?? [])
        {
            Holdout = status.Spec?.Holdout,
            CorpusTrainTokens = status.Spec?.CorpusTrainTokens,
        };
    }

    /// <summary>Another file of the folder (the search's tables), written the same way.</summary>
    public static void WriteFile(string folder, string name, string text) => WriteAtomic(Path.Combine(folder, name), text);

    static void WriteAtomic(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string tmp = $"{path}.tmp-{Environment.ProcessId}-{Environment.CurrentManagedThreadId}";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }
}
