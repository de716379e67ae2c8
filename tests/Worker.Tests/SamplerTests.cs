using Orchestrator.Sharding.Interop;
using Orchestrator.Worker.Model;
using Orchestrator.Worker.Sampling;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Worker;

public sealed class SamplerTests
{
    public SamplerTests() => TorchRuntime.Initialize();

    // Probabilities 0.5, 0.3, 0.15, 0.05 (and padding rows past vocab 4).
    static Tensor Logits() => tensor(new[] { MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.15f), MathF.Log(0.05f), 100f, 100f });

    static HashSet<long> Draws(SampleOptions o, int n = 400)
    {
        using var gen = new Generator((ulong)o.Seed);
        using var logits = Logits();
        return Enumerable.Range(0, n).Select(_ => Sampler.Choose(logits, 4, o, gen)).ToHashSet();
    }

    [Fact]
    public void Greedy_picks_the_argmax_and_never_the_padding() =>
        Assert.Equal([0L], Draws(new SampleOptions(Temperature: 0), 5));

    [Fact]
    public void Plain_sampling_reaches_every_real_token_only() =>
        Assert.Equal([0L, 1, 2, 3], Draws(new SampleOptions()).Order());

    [Fact]
    public void Top_k_keeps_the_k_most_likely() =>
        Assert.Equal([0L, 1], Draws(new SampleOptions(TopK: 2)).Order());

    [Fact]
    public void Top_p_keeps_the_smallest_set_reaching_p()
    {
        Assert.Equal([0L, 1], Draws(new SampleOptions(TopP: 0.7)).Order());        // 0.5 < 0.7 <= 0.8
        Assert.Equal([0L, 1, 2], Draws(new SampleOptions(TopP: 0.85)).Order());   // 0.8 < 0.85 <= 0.95
        Assert.Equal([0L], Draws(new SampleOptions(TopP: 0.4)).Order());
    }

    [Fact]
    public void Generation_is_deterministic_per_seed()
    {
        using var m = new Gpt(new GptConfig(NLayer: 1, NHead: 2, NEmbd: 16, BlockSize: 8, VocabSize: 50), seed: 9);
        var a = Sampler.Generate(m, [1, 2, 3], new SampleOptions(MaxTokens: 20, Seed: 4));
        var b = Sampler.Generate(m, [1, 2, 3], new SampleOptions(MaxTokens: 20, Seed: 4));
        var c = Sampler.Generate(m, [1, 2, 3], new SampleOptions(MaxTokens: 20, Seed: 5));
        Assert.Equal(23, a.Count);   // longer than block_size 8: the context is cropped
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.All(a, t => Assert.InRange(t, 0, 49));
    }
}
