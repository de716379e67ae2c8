using Orchestrator.Contracts.Runs;
using Orchestrator.Coordinator.Runs;
using Orchestrator.Worker.Model;
using Orchestrator.Worker.Training;
using Orchestrator.Sharding.Interop;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Worker;

public sealed class ModelTests
{
    public ModelTests() => TorchRuntime.Initialize();

    [Fact]
    public void Gpt2_preset_has_nanoGPTs_parameter_counts()
    {
        var c = GptPresets.Get("gpt2");
        Assert.Equal(50304, c.PaddedVocabSize);
        Assert.Equal(124_475_904, c.ParameterCount);                    // with the padded vocabulary
        Assert.Equal(123_689_472, c.ParameterCount - 1024L * 768);      // nanoGPT's "number of parameters: 123.69M"
        Assert.Equal(85_056_000, c.NonEmbeddingParameterCount);         // Kaplan's N: 12·12·768² + LayerNorms and biases
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Counts_match_the_built_module(bool bias)
    {
        var c = new GptConfig(NLayer: 3, NHead: 2, NEmbd: 16, BlockSize: 8, VocabSize: 100, Bias: bias);
        using var m = new Gpt(c);
        Assert.Equal(c.ParameterCount, m.parameters().Sum(p => p.numel()));
        Assert.Equal(c.NonEmbeddingParameterCount, m.named_parameters().Where(p => !p.name.StartsWith("w")).Sum(p => p.parameter.numel()));
        Assert.Equal(3, m.Blocks.Count);
        using var logits = m.call(zeros(2, 8, dtype: ScalarType.Int64));
        Assert.Equal([2L, 8, 128], logits.shape);
    }

    [Fact]
    public void Residual_projections_get_the_scaled_init()
    {
        using var m = new Gpt(new GptConfig(NLayer: 8, NHead: 4, NEmbd: 128, BlockSize: 16, VocabSize: 64), seed: 3);
        var p = m.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        Assert.Equal(0.02, p["h.0.attn.c_attn.weight"].std().item<float>(), 2);
        Assert.Equal(0.02 / Math.Sqrt(16), p["h.0.attn.c_proj.weight"].std().item<float>(), 3);
        Assert.Equal(1f, p["h.0.ln_1.weight"].mean().item<float>());
        Assert.Equal(0f, p["h.0.mlp.c_fc.bias"].abs().sum().item<float>());
    }

    [Fact]
    public void Causal_attention_does_not_look_ahead()
    {
        using var m = new Gpt(new GptConfig(NLayer: 2, NHead: 2, NEmbd: 16, BlockSize: 8, VocabSize: 32));
        m.eval();
        using var a = tensor(new long[] { 1, 2, 3, 4, 5, 6, 7, 8 }, [1, 8]);
        using var b = tensor(new long[] { 1, 2, 3, 4, 9, 9, 9, 9 }, [1, 8]);
        using var la = m.call(a);
        using var lb = m.call(b);
        Assert.True(la[0, ..4].allclose(lb[0, ..4]));
        Assert.False(la[0, 4].allclose(lb[0, 4]));
    }

    [Fact]
    public void Bad_shapes_name_the_field_and_the_fix()
    {
        var e = Assert.Throws<ArgumentException>(() => new GptConfig(NHead: 5, NEmbd: 768).Validate());
        Assert.Contains("n_embd=768 is not divisible by n_head=5", e.Message);
        Assert.Throws<ArgumentException>(() => GptPresets.Get("gpt5"));
        Assert.Throws<ArgumentException>(() => GptPresets.ApplyOverrides(GptPresets.Get("nano"), "n_layer=two"));
        Assert.Equal(6, GptPresets.ApplyOverrides(GptPresets.Get("nano"), "n_layer=6, bias=false").NLayer);
    }

    [Fact]
    public void Lr_schedule_warms_up_then_decays_to_the_floor()
    {
        var s = new LrSchedule(Peak: 1.0, Min: 0.1, Warmup: 10, Horizon: 110);
        Assert.Equal(1.0 / 11, s.At(0), 12);
        Assert.Equal(10.0 / 11, s.At(9), 12);
        Assert.Equal(1.0, s.At(10), 12);
        Assert.Equal(0.55, s.At(60), 12);
        Assert.Equal(0.1, s.At(110), 12);
        Assert.Equal(0.1, s.At(500), 12);
    }

    [Fact]
    public void The_CLIs_presets_are_the_ones_a_RunSpec_accepts_and_count_as_the_memory_estimate_does()
    {
        var spec = new RunSpec { Name = "p", Data = "/data", Steps = 1, Checkpoint = new() { Path = "/runs" } };
        Assert.Equal(8, GptPresets.Names.Count);
        foreach (var name in GptPresets.Names)
        {
            Assert.Empty(RunSpecValidator.Problems(spec with { Model = new() { Preset = name } }));
            var c = GptPresets.Get(name) with { VocabSize = 50257 };
            Assert.Equal(c.ParameterCount, RunMemory.Estimate(new ModelShape { Preset = name }, 1, 50257, "cpu").Parameters);
        }
    }

    [Fact]
    public void Mfu_flops_follow_nanoGPT()
    {
        var c = GptPresets.Get("gpt2");
        // 6·N + 12·L·H·Q·T with N = 123.69M (nanoGPT's get_num_params), T = 1024.
        Assert.Equal(6.0 * 123_689_472 + 12.0 * 12 * 12 * 64 * 1024, c.FlopsPerToken(1024));
    }
}

public sealed class InitDeterminismTests
{
    [Fact]
    public void Init_depends_on_the_seed_only_not_on_the_global_generator()
    {
        TorchRuntime.Initialize();
        var c = new GptConfig(NLayer: 1, NHead: 2, NEmbd: 16, BlockSize: 8, VocabSize: 32);
        manual_seed(1);
        using var a = new Gpt(c, seed: 7);
        manual_seed(2);
        using var b = new Gpt(c, seed: 7);
        foreach (var ((name, pa), (_, pb)) in a.named_parameters().Zip(b.named_parameters()))
            Assert.True(pa.allclose(pb, 0, 0), name);
    }
}
