using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;
using Orchestrator.Experiments.Fitting;
using Orchestrator.Experiments.Planning;
using Orchestrator.Experiments.Specs;
using Orchestrator.Experiments.Sweeps;

namespace Orchestrator.Tests.Experiments.Reports;

/// <summary>A finished sweep's folder on disk (status.json, results.csv, metrics/), as the experiment grain leaves it.</summary>
static class SweepFolders
{
    /// <summary>3 sizes x 2 token budgets, every run completed with the loss Chinchilla's law gives; returns the folder.</summary>
    public static string Completed(string storage, string id = "fonts-1")
    {
        var spec = SweepSpecYaml.Parse($"""
            name: fonts
            data: /data/none
            storage: {storage}
            params: [1e5, 1e6, 1e7]
            tokens: [1e7, 1e8]
            batch: 32
            block_size: 256
            report_budgets: [1e18]
            """);
        string folder = SweepFolder.For(storage, id);
        var law = ChinchillaLaw.Chinchilla;
        var runs = new List<SweepRunStatus>();
        foreach (var p in SweepPlanner.Plan(spec))
        {
            long trained = RunSpecs.TrainedTokens(spec, p, p.Steps);
            double loss = law.Predict(p.NonEmbeddingParams, trained);
            var history = Enumerable.Range(1, 10).Select(k => new MetricPoint(p.Steps * k / 10, loss + 1.0 / k, 1e5, null, DateTimeOffset.UnixEpoch));
            SweepFolder.WriteMetrics(folder, p.Key, new RunStatus
            {
                Id = $"{id}.{p.Key}.a1", State = RunState.Completed, Step = p.Steps, TotalSteps = p.Steps, Loss = loss, ValLoss = loss,
                History = [.. history],
            });
            runs.Add(new SweepRunStatus
            {
                Plan = p, Attempts = 1, RunId = $"{id}.{p.Key}.a1", State = RunState.Completed, Step = p.Steps, TotalSteps = p.Steps,
                Loss = loss, ValLoss = loss, TrainedTokens = trained,
            });
        }
        SweepFolder.WriteStatus(new SweepStatus
        {
            Id = id, Name = spec.Name, State = SweepState.Completed, Folder = folder, Runs = [.. runs], Spec = spec,
            CreatedAt = DateTimeOffset.UnixEpoch, EndedAt = DateTimeOffset.UnixEpoch,
        });
        return folder;
    }
}
