using Orchestrator.Sharding.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.RankHost;

/// <summary>
/// A GPT-shaped model small enough for CPU tests: token + position embedding, residual MLP blocks with pre-LayerNorm,
/// a LayerNorm + linear head. Sizes are odd on purpose so shards pad.
/// </summary>
public static class TinyGpt
{
    public const int Vocab = 29, Block = 8, Embd = 18;

    sealed class Embedding : nn.Module<Tensor, Tensor>
    {
        readonly TorchSharp.Modules.Embedding wte = nn.Embedding(Vocab, Embd);
        readonly Parameter wpe = nn.Parameter(randn(Block, Embd) * 0.02f);
        public Embedding() : base("embedding") => RegisterComponents();
        public override Tensor forward(Tensor idx) => wte.call(idx) + wpe.narrow(0, 0, idx.shape[1]); // (B, T, C)
    }

    sealed class MlpBlock : nn.Module<Tensor, Tensor>
    {
        readonly LayerNorm ln = nn.LayerNorm(Embd);
        readonly Linear fc = nn.Linear(Embd, 3 * Embd + 1);
        readonly Linear proj = nn.Linear(3 * Embd + 1, Embd);
        public MlpBlock() : base("block") => RegisterComponents();
        public override Tensor forward(Tensor x) => x + proj.call(nn.functional.gelu(fc.call(ln.call(x))));
    }

    sealed class Head : nn.Module<Tensor, Tensor>
    {
        readonly LayerNorm ln_f = nn.LayerNorm(Embd);
        readonly Linear lm_head = nn.Linear(Embd, Vocab, hasBias: false);
        public Head() : base("head") => RegisterComponents();
        public override Tensor forward(Tensor x) => lm_head.call(ln_f.call(x)); // (B, T, V)
    }

    public static StagedModel Build(int seed, int blocks = 2)
    {
        manual_seed(seed);
        var stages = new List<ModelStage> { new("embedding", new Embedding()) };
        for (var i = 0; i < blocks; i++) stages.Add(new ModelStage($"h{i}", new MlpBlock()));
        stages.Add(new ModelStage("head", new Head()));
        return new StagedModel(stages, (logits, targets) =>
            nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1)));
    }

    /// <summary>The global batch of step <paramref name="step"/>: G arithmetic sequences mod Vocab (learnable), as (inputs, targets).</summary>
    public static (Tensor X, Tensor Y) GlobalBatch(int seed, long step, int globalBatch)
    {
        var g = new Generator((ulong)(seed * 1_000_003L + step));
        var start = randint(0, Vocab, [globalBatch, 1], generator: g);
        var stride = randint(1, 4, [globalBatch, 1], generator: g);
        var seq = (start + stride * arange(Block + 1).unsqueeze(0)).remainder(Vocab).to(ScalarType.Int64);
        return (seq.narrow(1, 0, Block).contiguous(), seq.narrow(1, 1, Block).contiguous());
    }
}
