using Orchestrator.Worker.Model;
using Orchestrator.Worker.Training;

namespace Orchestrator.Tests.Worker;

public sealed class TrainerTests
{
    static readonly GptConfig Tiny = new(NLayer: 2, NHead: 2, NEmbd: 32, BlockSize: 32, VocabSize: 32);

    static TrainOptions Options(string data, string? outDir, int steps) => new()
    {
        Steps = steps, BatchSize = 4, BlockSize = 32, LearningRate = 3e-3, WarmupSteps = 2, LogEvery = 1,
        EvalBatches = 2, DataDir = data, OutDir = outDir, Seed = 11,
    };

    [Fact]
    public void Tiny_model_overfits_one_batch()
    {
        var data = TestData.PatternCorpus();
        // The same batch every step: a source whose cursor never moves.
        using var fixedBatch = new FixedBatch(TestData.Open(new(data, "train", 4, 32, Seed: 3)));
        var o = Options(data, null, 300) with { LearningRate = 1e-2, WarmupSteps = 10, Adam = new() { WeightDecay = 0 }, LogEvery = 50, EvalBatches = 0 };
        using var trainer = new Trainer(Tiny, o, lo => lo.Split == "train" ? fixedBatch : TestData.Open(lo));
        var result = trainer.Run();
        Assert.True(result.FinalTrainLoss < 0.05, $"final loss {result.FinalTrainLoss}");
    }

    [Fact]
    public void Divergence_stops_the_run_at_the_step_it_is_seen_and_keeps_the_last_good_checkpoint()
    {
        var data = TestData.PatternCorpus();
        var outDir = TestData.TempDir("diverge");
        // An absurd learning rate: the first update moves weights by ~1e30, the next forward overflows.
        var o = Options(data, outDir, 50) with { LearningRate = 1e30, WarmupSteps = 0, CheckpointEvery = 1, KeepCheckpoints = 100 };
        using var trainer = new Trainer(Tiny, o, TestData.Open);
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run());
        Assert.True(e.Step >= 2, e.Message);
        Assert.True(!double.IsFinite(e.Loss) || !double.IsFinite(e.GradNorm), e.Message);
        var saved = new Orchestrator.Worker.Checkpoints.CheckpointStore(outDir).List();
        Assert.Equal(e.Step - 1, saved.Count);
        Assert.Equal(saved[^1].Path, e.LastGoodCheckpoint);
        Assert.StartsWith($"training diverged at step {e.Step}: loss ", e.Message);
        Assert.Contains($"the last good checkpoint is {saved[^1].Path}", e.Message);
    }

    [Fact]
    public void Resume_continues_bit_identically()
    {
        var data = TestData.PatternCorpus();
        const int n = 6;
        var oneGo = TestData.TempDir("onego");
        List<double> lossesOneGo;
        Dictionary<string, float[]> weightsOneGo;
        using (var t = new Trainer(Tiny, Options(data, oneGo, 2 * n), TestData.Open))
        {
            lossesOneGo = t.Run().Losses.ToList();
            weightsOneGo = Weights(t);
        }
        var split = TestData.TempDir("split");
        var losses = new List<double>();
        using (var t = new Trainer(Tiny, Options(data, split, 2 * n) with { StopAfter = n }, TestData.Open))
            losses.AddRange(t.Run().Losses);
        using (var t = new Trainer(Tiny, Options(data, split, 2 * n) with { Resume = true }, TestData.Open))
        {
            Assert.Equal(n, t.StartStep);
            losses.AddRange(t.Run().Losses);
            var weights = Weights(t);
            Assert.Equal(weightsOneGo.Keys.Order(), weights.Keys.Order());
            foreach (var (name, w) in weightsOneGo) Assert.Equal(w, weights[name]);
        }
        Assert.Equal(2 * n, lossesOneGo.Count);
        Assert.Equal(lossesOneGo, losses);
    }

    [Fact]
    public void A_resume_at_another_world_keeps_the_global_batch_through_its_own_grad_accum()
    {
        var data = TestData.PatternCorpus();
        var outDir = TestData.TempDir("accum");
        using (var t = new Trainer(Tiny, Options(data, outDir, 6) with { GradAccum = 2, StopAfter = 2 }, TestData.Open)) t.Run();
        // A plain resume takes the checkpoint's settings; a run keeping its global batch at a new world brings its own.
        using (var t = new Trainer(Tiny, Options(data, outDir, 6) with { Resume = true }, TestData.Open))
            Assert.Equal((2, 2L), (t.Options.GradAccum, t.StartStep));
        using (var t = new Trainer(Tiny, Options(data, outDir, 6) with { Resume = true, GradAccum = 4, KeepGradAccum = true }, TestData.Open))
        {
            Assert.Equal((4, 2L), (t.Options.GradAccum, t.StartStep));
            Assert.Equal(6, t.Run().Steps);
        }
    }

    static Dictionary<string, float[]> Weights(Trainer t) =>
        t.Engine.Full.MasterWeights().ToDictionary(w => w.Name, w => w.Tensor.cpu().data<float>().ToArray());
}

public sealed class FusedAdamWTests
{
    [Fact]
    public void Fused_kernel_matches_the_element_wise_update()
    {
        var data = TestData.PatternCorpus();
        var config = new GptConfig(NLayer: 1, NHead: 2, NEmbd: 32, BlockSize: 32, VocabSize: 32);
        var o = new TrainOptions { Steps = 8, BatchSize = 4, BlockSize = 32, LearningRate = 3e-3, WarmupSteps = 2, LogEvery = 1, EvalBatches = 0, DataDir = data };
        using var fused = new Trainer(config, o with { FusedAdamW = true }, TestData.Open);
        using var plain = new Trainer(config, o with { FusedAdamW = false }, TestData.Open);
        var fusedOpt = fused.Engine.Optimizer;
        Assert.True(fusedOpt.Fused, fusedOpt.FusedUnavailableReason);
        var a = fused.Run().Losses;
        var b = plain.Run().Losses;
        for (int i = 0; i < a.Count; i++) Assert.Equal(b[i], a[i], 4);
        // Same math, different rounding order: Adam divides by sqrt(v) + eps, which magnifies float noise for
        // near-zero gradients (biases), so weights agree to a few millionths after 8 steps of lr 3e-3.
        var wa = fused.Engine.Full.MasterWeights().ToDictionary(w => w.Name, w => w.Tensor);
        foreach (var (name, w) in plain.Engine.Full.MasterWeights()) Assert.True(w.allclose(wa[name], rtol: 1e-4, atol: 2e-5), $"{name}: max diff {(w - wa[name]).abs().max().item<float>()}, max abs {w.abs().max().item<float>()}");
    }
}
