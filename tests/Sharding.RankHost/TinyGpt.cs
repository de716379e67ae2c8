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
        public Parameter Wte => wte.weight!;
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

    sealed class TiedHead : nn.Module<Tensor, Tensor>
    {
        readonly LayerNorm ln_f = nn.LayerNorm(Embd);
        public TiedHead() : base("head") => RegisterComponents();
        public Tensor Forward(Tensor x, Tensor wte) => nn.functional.linear(ln_f.call(x), wte); // (B, T, V), GPT-2's tied head
        public override Tensor forward(Tensor x) => throw new InvalidOperationException("needs the embedding weight");
    }

    /// <param name="tied">The head reuses the token embedding's weight (GPT-2's tying): a parameter shared by two stages.</param>
    public static StagedModel Build(int seed, int blocks = 2, bool tied = false)
    {
        // manual_seed sets libtorch's one global CPU generator: tests that run ranks as threads of one process build
        // their models at the same time, and interleaved draws would give each rank (and the reference) other weights.
        lock (InitLock) return BuildSeeded(seed, blocks, tied);
    }

    static readonly Lock InitLock = new();

    static StagedModel BuildSeeded(int seed, int blocks, bool tied)
    {
        manual_seed(seed);
        var embedding = new Embedding();
        var stages = new List<ModelStage> { new("embedding", embedding) };
        for (var i = 0; i < blocks; i++) stages.Add(new ModelStage($"h{i}", new MlpBlock()));
        if (tied)
        {
            var head = new TiedHead();
            var ps = head.named_parameters().Select(p => ($"head.{p.name}", p.parameter)).Append(("embedding.wte.weight", embedding.Wte)).ToList();
            stages.Add(new ModelStage("head", x => head.Forward(x, embedding.Wte), ps));
        }
        else stages.Add(new ModelStage("head", new Head()));
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
