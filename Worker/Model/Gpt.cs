using Orchestrator.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Model;

/// <summary>
/// GPT-2-family decoder (nanoGPT's model.py): token + learned position embeddings, <see cref="Block"/>s, final
/// LayerNorm, and an output head tied to the token embedding. The forward pass is split into
/// <see cref="Embed"/>, <see cref="Blocks"/> and <see cref="Head"/> so a sharded runner (ZeRO-3) can gather
/// parameters stage by stage. Parameter names are nanoGPT's without the "transformer." prefix
/// (wte.weight, h.0.attn.c_attn.weight, ln_f.weight); the exporter adds it.
///
/// Under μP (<see cref="GptConfig.Parametrization"/> "mup", Yang et al. 2022, as microsoft/mup's GPT-2 recipe with a
/// tied readout, MuSharedReadout) with m = base_width / n_embd: hidden matrices (every block's Linear weights) start
/// with variance 0.02²·m and take the learning rate times m (<see cref="LrScale"/>, which the optimizer reads per
/// parameter), the query starts at zero, attention scores are scaled by 1/d_head instead of 1/sqrt(d_head), and the
/// head multiplies its input by m (the logits, since the head is linear). Embeddings, biases and LayerNorms keep SP's
/// initialisation and learning rate. At n_embd = base_width only the attention scale and the zero query differ from SP.
/// Invariant: under SP nothing here computes anything SP did not (no multiplier kernels).
/// </summary>
public sealed class Gpt : nn.Module<Tensor, Tensor>
{
    readonly Embedding wte;          // (padded V, C); also the output head (weight tying)
    readonly Embedding wpe;          // (block_size, C)
    readonly ModuleList<Block> h;
    readonly LayerNorm ln_f;

    public GptConfig Config { get; }

    readonly Scalar? _outputMultiplier; // μP's m = base_width / n_embd on the head's input; null under SP

    /// <summary>Builds the model on the CPU in fp32 with GPT-2 initialisation drawn from <paramref name="seed"/>.</summary>
    public Gpt(GptConfig config, long seed = 1337) : base(nameof(Gpt))
    {
        Config = config.Validate();
        wte = nn.Embedding(config.PaddedVocabSize, config.NEmbd);
        wpe = nn.Embedding(config.BlockSize, config.NEmbd);
        h = nn.ModuleList(Enumerable.Range(0, config.NLayer).Select(_ => new Block(config)).ToArray());
        ln_f = nn.LayerNorm(config.NEmbd, eps: 1e-5, bias: config.Bias);
        RegisterComponents();
        if (config.Mup) _outputMultiplier = config.WidthRatio;
        Initialise(seed);
    }

    /// <summary>The transformer blocks in order (for layer-by-layer parameter gathering).</summary>
    public IReadOnlyList<Block> Blocks => h.ToList();

    /// <summary>idx (B, T) token ids -> logits (B, T, padded V).</summary>
    public override Tensor forward(Tensor idx)
    {
        var x = Embed(idx);
        foreach (var block in h) x = block.call(x);
        return Head(x);
    }

    /// <summary>Token + position embeddings: (B, T) -> (B, T, C).</summary>
    public Tensor Embed(Tensor idx)
    {
        long t = idx.shape[1];
        if (t > Config.BlockSize)
            throw new ArgumentException($"sequence of length {t} is longer than the model's block_size {Config.BlockSize}");
        using var pos = arange(t, dtype: ScalarType.Int64, device: idx.device);
        var x = wte.call(idx) + wpe.call(pos);                                   // (B, T, C) + (T, C)
        return training && Config.Dropout > 0 ? nn.functional.dropout(x, Config.Dropout, training) : x;
    }

    /// <summary>Final LayerNorm and the tied head: (B, T, C) -> (B, T, padded V); under μP the head's input times m.</summary>
    public Tensor Head(Tensor x)
    {
        var normed = ln_f.call(x);
        return nn.functional.linear(_outputMultiplier is { } m ? normed.mul(m) : normed, wte.weight!);
    }

    /// <summary>
    /// The learning-rate multiplier of the parameter named <paramref name="name"/> (as named_parameters names it):
    /// base_width / n_embd for the blocks' Linear weights under μP, 1 for everything else and for everything under SP.
    /// </summary>
    public double LrScale(string name) => Config.Mup && IsHiddenMatrix(name) ? Config.WidthRatio : 1.0;

    static bool IsHiddenMatrix(string name) =>
        name.StartsWith("h.", StringComparison.Ordinal) && name.EndsWith(".weight", StringComparison.Ordinal) && !name.Contains(".ln_", StringComparison.Ordinal);

    /// <summary>Mean next-token cross-entropy in fp32 (bf16 logits are upcast first, as autocast does).</summary>
    public static Tensor Loss(Tensor logits, Tensor targets)
    {
        // log_softmax with dtype: fp32 math inside the kernel, without materialising an fp32 copy of the
        // (B*T, V) logits first (2.5 GB for GPT-2 at B=12, T=1024); same loss and gradients as
        // cross_entropy(logits.float()), about 3 ms less per step on an H100.
        var flat = logits.view(-1, logits.shape[^1]);
        return nn.functional.nll_loss(flat.log_softmax(1, ScalarType.Float32), targets.view(-1));
    }

    // GPT-2 initialisation: N(0, 0.02) for Linear and Embedding weights, zero biases, LayerNorm weight 1, and the
    // residual projections (c_proj) scaled by 1/sqrt(2·n_layer) so the residual stream's variance stays put with depth.
    // μP: the blocks' Linear weights' standard deviations times sqrt(base_width / n_embd) (variance ∝ 1/fan_in,
    // equal to SP's at the base width) and the query's rows of c_attn zero (microsoft/mup's recommendation).
    // Drawn with randn from our own generator: TorchSharp 0.107's nn.init.normal_ ignores its generator argument and
    // uses the process-wide one, which other threads (or a later manual_seed) would change under us.
    void Initialise(long seed)
    {
        using var gen = new Generator((ulong)seed);
        double hidden = Math.Sqrt(Config.WidthRatio); // 1 under SP
        double projStd = 0.02 * hidden / Math.Sqrt(2.0 * Config.NLayer);
        using var _ = no_grad();
        foreach (var (name, p) in named_parameters())
        {
            if (name.StartsWith("ln_", StringComparison.Ordinal) || name.Contains(".ln_", StringComparison.Ordinal))
            {
                if (name.EndsWith(".weight", StringComparison.Ordinal)) p.FillHeld(1.0);
                else p.zero_();
            }
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
            else if (name.EndsWith("c_proj.weight", StringComparison.Ordinal)) Normal(p, projStd, gen);
            else if (IsHiddenMatrix(name)) Normal(p, 0.02 * hidden, gen);
            else Normal(p, 0.02, gen);
            if (Config.Mup && name.EndsWith("attn.c_attn.weight", StringComparison.Ordinal))
                using (var query = p.narrow(0, 0, Config.NEmbd)) query.zero_();
        }
    }

    static void Normal(Tensor p, double std, Generator gen)
    {
        using var draw = randn(p.shape, dtype: ScalarType.Float32, generator: gen);
        using Scalar s = std; // held through the call (a temporary Scalar could be freed by the GC while libtorch reads it)
        p.copy_(draw.mul_(s));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) { wte.Dispose(); wpe.Dispose(); h.Dispose(); ln_f.Dispose(); _outputMultiplier?.Dispose(); }
        base.Dispose(disposing);
    }
}
