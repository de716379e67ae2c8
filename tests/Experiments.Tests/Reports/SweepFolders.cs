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
    public static string Completed(string storage, string id = "fonts-1") => Completed(storage, id, detailed: false);

    /// <summary>
    /// The same sweep with the histories a trainer leaves: a report every 10 steps (window 10) of noisy train loss, a
    /// cosine LR, tokens/s, a val loss every 100 steps, thinned as the run grain thins them (past 512 reports every
    /// other one of the older half goes). <paramref name="noValRun"/> is the index of a planned run that logged no
    /// validation (its final loss is its train loss).
    /// </summary>
    public static string Detailed(string storage, string id = "plots-1", int? noValRun = null) => Completed(storage, id, detailed: true, noValRun);

    const int ReportEvery = 10, ValEvery = 100, MaxHistory = 512;

    static string Completed(string storage, string id, bool detailed, int? noValRun = null)
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
            bool val = runs.Count != noValRun;
            var history = detailed ? History(p.Steps, loss, val, seed: runs.Count)
                : [.. Enumerable.Range(1, 10).Select(k => new MetricPoint(p.Steps * k / 10, loss + 1.0 / k, 1e5, null, DateTimeOffset.UnixEpoch))];
            SweepFolder.WriteMetrics(folder, p.Key, new RunStatus
            {
                Id = $"{id}.{p.Key}.a1", State = RunState.Completed, Step = p.Steps, TotalSteps = p.Steps, Loss = loss, ValLoss = val ? loss : null,
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

    static List<MetricPoint> History(int steps, double final, bool val, int seed)
    {
        var rng = new Random(seed);
        var h = new List<MetricPoint>();
        for (int step = ReportEvery; step <= steps; step += ReportEvery)
        {
            double progress = (double)step / steps;
            double clean = final + 4.0 * Math.Exp(-8 * progress);
            double lr = 1e-3 * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * progress)));
            h.Add(new MetricPoint(step, clean + 0.2 * (rng.NextDouble() - 0.5), 1e5 * (1 + 0.05 * rng.NextDouble()), null, DateTimeOffset.UnixEpoch,
                ValLoss: val && step % ValEvery == 0 ? clean + 0.02 : null, Lr: lr, WindowSteps: ReportEvery));
            if (h.Count > MaxHistory)
            {
                int half = h.Count / 2;
                h = [.. h.Take(half).Where((_, i) => i % 2 == 0), .. h.Skip(half)];
            }
        }
        return h;
    }
}
