using Orchestrator.Sharding.Interop;
using Orchestrator.Worker.Checkpoints;
using Orchestrator.Worker.Export;
using Orchestrator.Worker.Model;
using Orchestrator.Worker.Training;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Worker;

/// <summary>
/// μP in the model: its multipliers and initialisation, the optimizer's per-group learning rates through the real
/// trainer, the parametrization in checkpoints, the export that folds the multipliers into plain GPT-2 weights, and
/// the coordinate check (flat under μP, growing under SP).
/// </summary>
public sealed class MupTests(ITestOutputHelper output)
{
    static readonly GptConfig Mup = new(NLayer: 2, NHead: 2, NEmbd: 64, BlockSize: 16, VocabSize: 64, Parametrization: "mup", BaseWidth: 16);

    [Fact]
    public void Hidden_matrices_get_the_width_ratio_and_everything_else_the_plain_learning_rate()
    {
        TorchRuntime.Initialize();
        using var m = new Gpt(Mup, seed: 3);
        Assert.Equal(0.25, Mup.WidthRatio);
        var scales = m.named_parameters().ToDictionary(p => p.name, p => m.LrScale(p.name));
        foreach (var hidden in new[] { "h.0.attn.c_attn.weight", "h.0.attn.c_proj.weight", "h.1.mlp.c_fc.weight", "h.1.mlp.c_proj.weight" })
            Assert.Equal(0.25, scales[hidden]);
        foreach (var plain in new[] { "wte.weight", "wpe.weight", "h.0.ln_1.weight", "h.0.attn.c_attn.bias", "h.1.mlp.c_proj.bias", "ln_f.weight", "ln_f.bias" })
            Assert.Equal(1.0, scales[plain]);
        using var sp = new Gpt(Mup with { Parametrization = "sp", BaseWidth = 0 }, seed: 3);
        Assert.All(sp.named_parameters(), p => Assert.Equal(1.0, sp.LrScale(p.name)));

        // Initialisation: hidden weights' std 0.02·sqrt(1/4), the query rows zero, embeddings SP's 0.02.
        var w = m.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(0.0, w["h.0.attn.c_attn.weight"].narrow(0, 0, 64).abs().max().item<float>());
        Assert.Equal(0.01, w["h.0.mlp.c_fc.weight"].std().item<float>(), 0.001);
        Assert.Equal(0.02, w["wte.weight"].std().item<float>(), 0.002);
    }

    [Fact]
    public void Mup_scales_the_logits_by_the_width_ratio_and_attention_by_one_over_d_head()
    {
        TorchRuntime.Initialize();
        // μP's two multipliers are exactly m on ln_f's output and 1/sqrt(d_head) on the query: an SP model given the
        // μP weights with those factors folded in (the exporter's mapping) computes the μP model's logits.
        var spConfig = Mup with { Parametrization = "sp", BaseWidth = 0 };
        using var mup = new Gpt(Mup, seed: 5);
        using var sp = new Gpt(spConfig, seed: 5);
        Randomise(mup, seed: 9);
        using var idx = randint(0, 64, [2, 16], dtype: ScalarType.Int64, generator: new Generator(11));
        using (no_grad())
        {
            var folded = GptExporter.Map(Mup, Weights(mup), ExportLayout.NanoGpt).Where(t => t.Name != "lm_head.weight")
                .ToDictionary(t => t.Name["transformer.".Length..], t => t.Tensor);
            foreach (var (name, p) in sp.named_parameters()) p.copy_(folded[name]);
            using var a = mup.call(idx);
            using var b = sp.call(idx);
            double diff = (a - b).abs().max().item<float>(), scale = a.abs().mean().item<float>();
            output.WriteLine($"max |μP − folded SP| = {diff:E2} (mean |logit| {scale:F3})");
            Assert.True(diff < 1e-5 * Math.Max(1, scale) + 1e-6, $"μP logits differ from the folded SP model's by {diff}");
        }
    }

    [Fact]
    public void Exported_mup_model_loads_as_a_plain_gpt2_with_the_models_logits_and_says_so()
    {
        TorchRuntime.Initialize();
        using var mup = new Gpt(Mup, seed: 5);
        Randomise(mup, seed: 4);
        using var lnBefore = Weights(mup)["ln_f.weight"].detach().clone();
        var path = Path.Combine(TestData.TempDir("mup-export"), "m.safetensors");
        GptExporter.Write(path, Mup, Weights(mup), ExportLayout.NanoGpt);
        var (tensors, meta) = Safetensors.Read(path);
        Assert.Equal("mup", meta["parametrization"]);
        Assert.Equal("16", meta["base_width"]);
        Assert.Contains("load as a plain GPT-2", meta["mup_folded"]);
        // A plain (SP) GPT-2 of the same shape loads the file and computes the μP model's logits.
        using var plain = new Gpt(Mup with { Parametrization = "sp", BaseWidth = 0 }, seed: 0);
        using (no_grad())
            foreach (var (name, p) in plain.named_parameters()) p.copy_(tensors["transformer." + name]);
        Assert.True(tensors["lm_head.weight"].allclose(tensors["transformer.wte.weight"], 0, 0));
        using var idx = randint(0, 64, [3, 16], dtype: ScalarType.Int64, generator: new Generator(2));
        using var expected = mup.call(idx);
        using var got = plain.call(idx);
        Assert.True(got.allclose(expected, rtol: 1e-5, atol: 1e-5), $"max diff {(got - expected).abs().max().item<float>()}");
        // The model's own weights are untouched by the export's folding.
        Assert.True(Weights(mup)["ln_f.weight"].allclose(lnBefore, 0, 0));
    }

    [Fact]
    public void Trainer_gives_the_optimizer_its_groups_and_checkpoints_the_parametrization()
    {
        var data = TestData.PatternCorpus();
        var run = Path.Combine(TestData.TempDir("mup-run"), "out");
        var o = new TrainOptions { Steps = 4, BatchSize = 4, BlockSize = 16, LearningRate = 3e-3, WarmupSteps = 0, LogEvery = 2, EvalBatches = 0, DataDir = data, OutDir = run };
        var config = Mup with { VocabSize = 32 };
        using (var t = new Trainer(config, o, TestData.Open))
        {
            long hidden = 2 * (64 * 192 + 64 * 64 + 64 * 256 + 256 * 64);
            var groups = t.Engine.Optimizer.Groups;
            Assert.Contains((true, 0.25, hidden), groups);
            Assert.Contains(groups, g => g.Decay && g.LrScale == 1.0);   // the embeddings
            Assert.Contains(groups, g => !g.Decay && g.LrScale == 1.0);  // biases, LayerNorms
            Assert.Equal(t.Engine.Optimizer.Master.numel(), groups.Sum(g => g.Elements));
            var r = t.Run();
            Assert.True(r.Losses.All(double.IsFinite));
        }
        var ckpt = CheckpointStore.Load(new CheckpointStore(run).FindNewestValid()!);
        Assert.Equal("mup", ckpt.State.Model.Parametrization);
        Assert.Equal(16, ckpt.State.Model.BaseWidth);
        // Resuming takes the checkpoint's parametrization: the run continues as μP.
        using var resumed = new Trainer(config with { Parametrization = "sp", BaseWidth = 0 }, o with { Steps = 6, Resume = true }, TestData.Open);
        Assert.True(resumed.Config.Mup);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Mup_groups_travel_with_ddp_and_zero_shards(int zero)
    {
        // World 1 at batch 8 against 2 ranks (TCP ring, one thread each) at batch 4: the same blocks per step. Each
        // rank's optimizer holds all of every group (DDP) or its shard's pieces of it (ZeRO: together the world-1
        // groups), and the losses follow.
        var data = TestData.PatternCorpus();
        var config = Mup with { VocabSize = 32 };
        var o = new TrainOptions { Steps = 8, BlockSize = 16, LearningRate = 1e-2, WarmupSteps = 0, Schedule = "constant", LogEvery = 1, EvalBatches = 0, DataDir = data };
        IReadOnlyList<(bool Decay, double LrScale, long Elements)> single;
        double[] expected;
        using (var t = new Trainer(config, o with { BatchSize = 8 }, TestData.Open))
        {
            single = t.Engine.Optimizer.Groups;
            expected = [.. t.Run().Losses];
        }
        var master = $"127.0.0.1:{Orchestrator.Sharding.Launch.LocalPorts.FreePort()}";
        var results = new (IReadOnlyList<(bool Decay, double LrScale, long Elements)> Groups, double[] Losses)[2];
        var errors = new Exception?[2];
        var threads = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            try
            {
                using var comm = Orchestrator.Sharding.Ring.RingCommunicator.ConnectStandalone(r, 2, master);
                using var t = new Trainer(config, o with { BatchSize = 4, Rank = r, WorldSize = 2, Zero = zero }, TestData.Open, communicator: comm);
                results[r] = (t.Engine.Optimizer.Groups, [.. t.Run().Losses]);
            }
            catch (Exception e) { errors[r] = e; }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.All(errors, e => Assert.Null(e));
        foreach (var (decay, scale, elements) in single.Where(g => g.LrScale != 1.0 || g.Decay))
        {
            long Held(int rank) => results[rank].Groups.Where(g => g.Decay == decay && g.LrScale == scale).Sum(g => g.Elements);
            if (zero == 0) Assert.All(new[] { 0, 1 }, r => Assert.Equal(elements, Held(r)));
            else Assert.Equal(elements, Held(0) + Held(1));
        }
        output.WriteLine($"zero {zero}: world 1 {string.Join(", ", expected.Select(l => l.ToString("F5")))}; rank 0 {string.Join(", ", results[0].Losses.Select(l => l.ToString("F5")))}");
        Assert.Equal(expected.Length, results[0].Losses.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - (results[0].Losses[i] + results[1].Losses[i]) / 2) <= 2e-4, $"step {i + 1}: world 1 {expected[i]}, 2 ranks {results[0].Losses[i]}/{results[1].Losses[i]}");
    }

    [Fact]
    public void Bad_parametrizations_are_refused_with_the_fix()
    {
        var e = Assert.Throws<ArgumentException>(() => (Mup with { BaseWidth = 128 }).Validate());
        Assert.Contains("base_width 128 is larger than n_embd 64", e.Message);
        e = Assert.Throws<ArgumentException>(() => (Mup with { BaseWidth = 0 }).Validate());
        Assert.Contains("parametrization mup needs base_width", e.Message);
        e = Assert.Throws<ArgumentException>(() => (Mup with { Parametrization = "ntk" }).Validate());
        Assert.Contains("parametrization 'ntk' is not one of sp, mup", e.Message);
        e = Assert.Throws<ArgumentException>(() => (Mup with { Parametrization = "sp" }).Validate());
        Assert.Contains("base_width 16 applies only to parametrization mup", e.Message);
    }

    [Fact]
    public void Coordinate_check_is_flat_under_mup_and_grows_under_sp()
    {
        // Widths 32..256 (8x), 2 layers, 4 heads (d_head 8..64), 4 steps at lr 1e-2 on random tokens, seed 1.
        var o = new CoordinateCheckOptions { Widths = [32, 64, 128, 256], BaseWidth = 32, Steps = 4, BatchSize = 4, BlockSize = 16, VocabSize = 64 };
        var rows = CoordinateCheck.Run(o, CoordinateCheck.RandomTokens(o.VocabSize));
        foreach (var r in rows) output.WriteLine($"{r.Parametrization} {r.Width,4} {r.Layer,-6} |x| {r.Activation:F4} |Δx| {r.Update:F4}");
        foreach (var (layer, value) in new (string, Func<CoordinateRow, double>)[] { ("logits", r => r.Activation), ("logits", r => r.Update), ("h.1", r => r.Update) })
        {
            double mup = CoordinateCheck.Growth(rows, "mup", layer, value), sp = CoordinateCheck.Growth(rows, "sp", layer, value);
            output.WriteLine($"{layer}: growth 32 -> 256 under μP {mup:F2}, under SP {sp:F2}");
            Assert.InRange(mup, 0.5, 2.0);
            Assert.True(sp > 4.0, $"{layer}: SP grew only {sp:F2}x from width 32 to 256");
        }
    }

    static Dictionary<string, Tensor> Weights(Gpt m) => m.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);

    // Every parameter moved off its initial value (LayerNorms off 1/0, the zero query off zero), so each fold matters.
    static void Randomise(Gpt m, int seed)
    {
        var g = new Generator((ulong)seed);
        using var _ = no_grad();
        foreach (var (_, p) in m.named_parameters())
        {
            using var noise = randn(p.shape, generator: g);
            using Scalar s = 0.05;
            p.add_(noise.mul_(s));
        }
    }
}
