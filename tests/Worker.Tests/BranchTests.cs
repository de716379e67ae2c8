using Orchestrator.Contracts.Runs;
using Orchestrator.Worker.Checkpoints;
using Orchestrator.Worker.Model;
using Orchestrator.Worker.Training;

namespace Orchestrator.Tests.Worker;

/// <summary>
/// WSD cooldown branches: a trunk at the stable LR with checkpoints kept at the fork points, and branches that start
/// from them and cool down to their own horizon, end bit-identical (losses and weights) to runs trained from scratch
/// with the same WSD schedule, seed and data order.
/// </summary>
public sealed class BranchTests
{
    static readonly GptConfig Tiny = new(NLayer: 2, NHead: 2, NEmbd: 32, BlockSize: 32, VocabSize: 32);

    static TrainOptions Options(string data, string? outDir, int steps, string schedule) => new()
    {
        Steps = steps, BatchSize = 4, BlockSize = 32, LearningRate = 3e-3, WarmupSteps = 2, LogEvery = 1, EvalBatches = 2,
        DataDir = data, OutDir = outDir, Seed = 11, Schedule = schedule, CooldownFraction = 0.25, CooldownShape = LrScheduleSpec.OneMinusSqrt,
    };

    [Fact]
    public void Branches_from_a_trunk_equal_wsd_runs_from_scratch()
    {
        var data = TestData.PatternCorpus();
        int[] horizons = [8, 12];
        int[] forks = [.. horizons.Select(h => LrScheduleSpec.CooldownStart(h, 0.25))]; // 6, 9
        Assert.Equal([6, 9], forks);

        var trunkDir = TestData.TempDir("trunk");
        List<double> trunkLosses;
        // keep 1 and a checkpoint every 2 steps: keep-last-N keeps step 8 (the newest unpinned) and spares 6 and 9.
        using (var trunk = new Trainer(Tiny, Options(data, trunkDir, forks.Max(), LrScheduleSpec.Constant)
                   with { CheckpointAt = forks, CheckpointEvery = 2, KeepCheckpoints = 1 }, TestData.Open))
            trunkLosses = trunk.Run().Losses.ToList();
        Assert.Equal(["ckpt-000006", "ckpt-000008", "ckpt-000009"], new CheckpointStore(trunkDir).List().Select(c => Path.GetFileName(c.Path)));

        for (int i = 0; i < horizons.Length; i++)
        {
            List<double> scratchLosses;
            Dictionary<string, float[]> scratchWeights;
            double? scratchVal;
            using (var scratch = new Trainer(Tiny, Options(data, TestData.TempDir("scratch"), horizons[i], LrScheduleSpec.Wsd), TestData.Open))
            {
                var r = scratch.Run();
                (scratchLosses, scratchVal, scratchWeights) = (r.Losses.ToList(), r.FinalValLoss, Weights(scratch));
            }
            using var branch = new Trainer(Tiny, Options(data, TestData.TempDir("branch"), horizons[i], LrScheduleSpec.Wsd)
                with { InitFrom = trunkDir, ForkStep = forks[i], Resume = true }, TestData.Open);
            Assert.Equal(forks[i], branch.StartStep);
            var result = branch.Run();
            Assert.Equal(scratchLosses, [.. trunkLosses.Take(forks[i]), .. result.Losses]);
            Assert.Equal(scratchVal, result.FinalValLoss);
            var weights = Weights(branch);
            Assert.Equal(scratchWeights.Keys.Order(), weights.Keys.Order());
            foreach (var (name, w) in scratchWeights) Assert.Equal(w, weights[name]);
        }
    }

    [Fact]
    public void A_fork_step_the_checkpoint_does_not_hold_is_refused()
    {
        var data = TestData.PatternCorpus();
        var trunkDir = TestData.TempDir("trunk");
        using (var trunk = new Trainer(Tiny, Options(data, trunkDir, 4, LrScheduleSpec.Constant), TestData.Open)) trunk.Run();
        var e = Assert.Throws<InvalidDataException>(() =>
            new Trainer(Tiny, Options(data, TestData.TempDir("b"), 8, LrScheduleSpec.Wsd) with { InitFrom = trunkDir, ForkStep = 3 }, TestData.Open));
        Assert.Contains("no checkpoint of step 3 there", e.Message);
        var ckpt = Path.Combine(trunkDir, "ckpt-000004");
        e = Assert.Throws<InvalidDataException>(() =>
            new Trainer(Tiny, Options(data, TestData.TempDir("b"), 8, LrScheduleSpec.Wsd) with { InitFrom = ckpt, ForkStep = 3 }, TestData.Open));
        Assert.Contains("it is the checkpoint of step 4, not of the fork step 3", e.Message);
        var other = Tiny with { NEmbd = 64 };
        var shape = Assert.Throws<ArgumentException>(() =>
            new Trainer(other, Options(data, TestData.TempDir("b"), 8, LrScheduleSpec.Wsd) with { InitFrom = ckpt }, TestData.Open));
        Assert.Contains("fork with the same model shape", shape.Message);
    }

    static Dictionary<string, float[]> Weights(Trainer t) =>
        t.Engine.Full.MasterWeights().ToDictionary(w => w.Name, w => w.Tensor.cpu().data<float>().ToArray());
}
