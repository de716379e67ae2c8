using Orchestrator.Worker.Model;
using Orchestrator.Worker.Records;
using Orchestrator.Worker.Training;

namespace Orchestrator.Tests.Worker;

/// <summary>
/// Time-based reports (TrainOptions.LogSeconds): the trainer reports its first step alone, then windows of a
/// measured step count; each report's loss is the mean over its window; a caller that asks returns at each report
/// without evaluating or checkpointing, and the run's records get one row per report.
/// </summary>
public sealed class LiveReportTests
{
    static readonly GptConfig Tiny = new(NLayer: 2, NHead: 2, NEmbd: 32, BlockSize: 32, VocabSize: 32);

    static TrainOptions Options(string data, string? outDir, int steps) => new()
    {
        Steps = steps, BatchSize = 4, BlockSize = 32, LearningRate = 3e-3, WarmupSteps = 2, LogEvery = 1,
        EvalBatches = 2, DataDir = data, OutDir = outDir, Seed = 11,
    };

    [Fact]
    public void Reports_come_in_timed_windows_whose_loss_is_the_mean_of_their_steps()
    {
        var data = TestData.PatternCorpus();
        const int steps = 60;
        List<double> perStep;
        using (var t = new Trainer(Tiny, Options(data, null, steps), TestData.Open))
            perStep = [.. t.Run().Losses];
        Assert.Equal(steps, perStep.Count);

        var outDir = TestData.TempDir("live");
        var reports = new List<StepReport>();
        var results = new List<TrainResult>();
        using (var t = new Trainer(Tiny, Options(data, outDir, steps) with { LogSeconds = 0.3, CheckpointEvery = 1000 }, TestData.Open))
        {
            while (results.Count == 0 || results[^1].Paused)
                results.Add(t.Run(reports.Add, returnAtReport: true));
        }
        // Every call but the last returned at a report, nothing checkpointed on the way; the last ends the run with its checkpoint.
        Assert.Equal(reports.Count, results.Count);
        Assert.All(results[..^1], r => Assert.Null(r.Checkpoint));
        Assert.False(results[^1].Paused);
        Assert.EndsWith("ckpt-000060", results[^1].Checkpoint);
        Assert.Equal((1L, 1), (reports[0].Step, reports[0].WindowSteps));
        Assert.Equal(steps, reports[^1].Step);
        Assert.Equal(steps, reports.Sum(r => r.WindowSteps));
        Assert.True(reports.Count < steps / 2, $"{reports.Count} reports for {steps} steps: the windows did not grow");
        long tokensPerStep = 4 * 32;
        foreach (var r in reports)
        {
            var window = perStep.Skip((int)r.Step - r.WindowSteps).Take(r.WindowSteps).Average();
            Assert.True(Math.Abs(window - r.Loss) < 1e-5, $"step {r.Step}: window mean {window}, reported {r.Loss}");
            Assert.Equal(r.Step * tokensPerStep, r.Tokens);
        }

        // metrics.jsonl: one row per report, with the report's numbers.
        var rows = RunRecords.Read(Path.Combine(outDir, RunRecords.MetricsFile));
        Assert.Equal(reports.Select(r => r.Step), rows.Select(e => e.GetProperty("step").GetInt64()));
        Assert.Equal(reports.Select(r => (float)r.Loss), rows.Select(e => (float)e.GetProperty("loss").GetDouble()));
        Assert.Equal(reports.Select(r => r.LearningRate), rows.Select(e => e.GetProperty("lr").GetDouble()));
        Assert.All(rows, e => Assert.Equal(1, e.GetProperty("world_size").GetInt32()));
        Assert.False(Directory.Exists(Path.Combine(outDir, RunRecords.TensorBoardFolder)));
    }

    [Fact]
    public void A_fixed_cadence_averages_its_window_and_an_eval_step_always_reports()
    {
        var data = TestData.PatternCorpus();
        List<double> perStep;
        using (var t = new Trainer(Tiny, Options(data, null, 12), TestData.Open))
            perStep = [.. t.Run().Losses];
        var reports = new List<StepReport>();
        var outDir = TestData.TempDir("cadence");
        using (var t = new Trainer(Tiny, Options(data, outDir, 12) with { LogEvery = 5, EvalEvery = 7, TensorBoard = true }, TestData.Open))
            t.Run(reports.Add);
        Assert.Equal([5L, 7, 10, 12], reports.Select(r => r.Step));
        Assert.Equal([5, 2, 3, 2], reports.Select(r => r.WindowSteps));
        Assert.NotNull(reports[1].ValLoss);
        Assert.True(Math.Abs(perStep.Skip(5).Take(2).Average() - reports[1].Loss) < 1e-5, $"{reports[1].Loss}");
        var events = TensorBoardWriter.Read(Directory.GetFiles(Path.Combine(outDir, RunRecords.TensorBoardFolder)).Single());
        Assert.Equal([0L, 5, 7, 10, 12], events.Select(e => e.Step));
        Assert.Contains(events[2].Scalars, s => s.Tag == "val/loss" && s.Value == (float)reports[1].ValLoss!.Value);
    }

    [Fact]
    public void Ranks_with_different_speeds_agree_on_every_report_step()
    {
        // Two ranks over a real TCP ring, rank 1 slowed after each report (so each measures another step time): the
        // cadence is all-reduced, so both report, and all-reduce, at the same steps; a disagreement would hang the
        // ring (its 20 s timeout fails the test) or mismatch the reports.
        var data = TestData.PatternCorpus();
        var master = $"127.0.0.1:{Orchestrator.Sharding.Launch.LocalPorts.FreePort()}";
        var ring = new Orchestrator.Sharding.Ring.RingOptions(TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(20));
        var reports = new List<StepReport>[2];
        var errors = new Exception?[2];
        var threads = Enumerable.Range(0, 2).Select(rank => new Thread(() =>
        {
            try
            {
                using var comm = Orchestrator.Sharding.Ring.RingCommunicator.ConnectStandalone(rank, 2, master, ring);
                var mine = reports[rank] = [];
                var o = Options(data, null, 40) with { Rank = rank, WorldSize = 2, LogSeconds = 0.1, EvalBatches = 0 };
                using var t = new Trainer(Tiny, o, TestData.Open, communicator: comm);
                TrainResult r;
                do r = t.Run(x => { mine.Add(x); if (rank == 1) Thread.Sleep(30); }, returnAtReport: true);
                while (r.Paused);
            }
            catch (Exception e) { errors[rank] = e; }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.All(errors, e => Assert.Null(e));
        Assert.Equal(reports[0].Select(r => (r.Step, r.WindowSteps, r.Loss)), reports[1].Select(r => (r.Step, r.WindowSteps, r.Loss)));
        Assert.Equal(40, reports[0].Sum(r => r.WindowSteps));
        Assert.Equal(2 * 4 * 32, reports[0][0].Tokens);
    }
}
