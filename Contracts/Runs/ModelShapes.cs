namespace Orchestrator.Contracts.Runs;

/// <summary>
/// The one home of GPT shape arithmetic and model presets, for the CLI's <c>--model</c>, RunSpec validation, the
/// memory estimate and sweep planning alike (a preset known to one and not another is how `orch train --model
/// micro` worked while a RunSpec with <c>preset: micro</c> was refused). Two parameter counts, not to be mixed:
/// <see cref="NonEmbeddingParams"/> is Kaplan et al.'s N = 12·L·d² (attention 4d², MLP 8d² per layer; biases,
/// LayerNorms and embeddings left out), the scaling-law axis; <see cref="BlockParameters"/> and
/// <see cref="EmbeddingParameters"/> count what nanoGPT's model holds.
/// </summary>
public static class ModelShapes
{
    /// <summary>A preset's sizes; vocabulary comes from the corpus.</summary>
    public readonly record struct Preset(int NLayer, int NHead, int NEmbd, int BlockSize);

    static readonly Dictionary<string, Preset> Presets = new(StringComparer.OrdinalIgnoreCase)
    {
        // GPT-2 (OpenAI, 2019): context 1024, biases on.
        ["gpt2"] = new(12, 12, 768, 1024),           // 124M
        ["gpt2-medium"] = new(24, 16, 1024, 1024),   // 350M
        ["gpt2-large"] = new(36, 20, 1280, 1024),    // 774M
        ["gpt2-xl"] = new(48, 25, 1600, 1024),       // 1558M
        // Small shapes for CPU and scaling-law sweeps.
        ["nano"] = new(2, 2, 64, 128),
        ["micro"] = new(4, 4, 128, 256),
        ["mini"] = new(6, 6, 384, 256),              // nanoGPT's shakespeare-char shape
        ["small"] = new(8, 8, 512, 512),
    };

    /// <summary>Every preset name, in the order above.</summary>
    public static IReadOnlyCollection<string> PresetNames => Presets.Keys;

    public static bool TryGetPreset(string name, out Preset preset) => Presets.TryGetValue(name, out preset);

    /// <summary>The explicit shape of a model (a preset resolved to its sizes; an unknown preset stays as given).</summary>
    public static ModelShape Resolve(ModelShape m) =>
        m.Preset is { } p && Presets.TryGetValue(p, out var s)
            ? m with { NLayer = s.NLayer, NHead = s.NHead, NEmbd = s.NEmbd, BlockSize = s.BlockSize }
            : m;

    /// <summary>Kaplan's non-embedding N = 12·L·d², the scaling-law axis.</summary>
    public static long NonEmbeddingParams(ModelShape m) => 12L * m.NLayer * m.NEmbd * m.NEmbd;

    /// <summary>The vocabulary the embedding holds: rounded up to a multiple of 64 (GPT-2's 50257 becomes 50304).</summary>
    public static int PaddedVocab(int vocab) => (vocab + 63) / 64 * 64;

    /// <summary>
    /// Parameters of nanoGPT's blocks and final LayerNorm (Kaplan's non-embedding count taken exactly): per layer two
    /// LayerNorms, attention (qkv and projection) and the MLP (4x up and down), with biases when <paramref name="bias"/>.
    /// </summary>
    public static long BlockParameters(int layers, int embd, bool bias)
    {
        long c = embd, b = bias ? 1 : 0;
        long ln = c + b * c;
        long attn = c * 3 * c + b * 3 * c + c * c + b * c;
        long mlp = c * 4 * c + b * 4 * c + 4 * c * c + b * c;
        return layers * (2 * ln + attn + mlp) + ln;
    }

    /// <summary>Token (padded vocabulary; the tied head shares it) and position embeddings.</summary>
    public static long EmbeddingParameters(int vocab, int blockSize, int embd) => (long)PaddedVocab(vocab) * embd + (long)blockSize * embd;

    /// <summary>
    /// Training FLOPs per token at sequence length <paramref name="seqLen"/>, nanoGPT's estimate_mfu: 6N + 12·L·H·Q·T
    /// with N the parameter count less the position embedding (as nanoGPT's get_num_params) and Q the head width.
    /// </summary>
    public static double FlopsPerToken(long parametersWithoutPositions, int layers, int heads, int embd, int seqLen) =>
        6.0 * parametersWithoutPositions + 12.0 * layers * heads * (embd / heads) * seqLen;

    /// <summary>Checks an explicit shape; the message names the entry and the fix.</summary>
    public static void Validate(ModelShape m, string where)
    {
        if (m.NLayer < 1) throw new ArgumentException($"{where}: n_layer {m.NLayer} must be >= 1");
        if (m.NHead < 1) throw new ArgumentException($"{where}: n_head {m.NHead} must be >= 1");
        if (m.NEmbd < 1) throw new ArgumentException($"{where}: n_embd {m.NEmbd} must be >= 1");
        if (m.NEmbd % m.NHead != 0)
            throw new ArgumentException($"{where}: n_embd {m.NEmbd} is not divisible by n_head {m.NHead}; pick n_head dividing n_embd");
        if (m.BlockSize < 1) throw new ArgumentException($"{where}: block_size {m.BlockSize} must be >= 1");
    }

    /// <summary>
    /// The shape whose 12·L·d² is closest to <paramref name="target"/> among widths that are multiples of 16 and
    /// aspect ratios d/L in [16, 128] (Kaplan: loss is flat over a wide range of aspect ratios; small models want
    /// few layers); ties go to the ratio nearest 64. Heads are 64 wide from d = 256 up where 64 divides d, else 32 (or 16).
    /// </summary>
    public static ModelShape FromTarget(double target, int blockSize, string where)
    {
        if (!(target > 0) || !double.IsFinite(target)) throw new ArgumentException($"{where}: params {target} must be a positive number");
        ModelShape? best = null;
        double bestErr = double.MaxValue, bestAspect = double.MaxValue;
        for (int layers = 1; layers <= 64; layers++)
        for (int width = 16; width <= 16384; width += 16)
        {
            double aspect = width / (double)layers;
            if (aspect < 16 || aspect > 128) continue;
            double err = Math.Abs(Math.Log(12.0 * layers * width * width / target));
            double aspectErr = Math.Abs(Math.Log(aspect / 64));
            if (err < bestErr - 1e-9 || (Math.Abs(err - bestErr) <= 1e-9 && aspectErr < bestAspect))
            {
                bestErr = err;
                bestAspect = aspectErr;
                int headDim = width >= 256 && width % 64 == 0 ? 64 : width % 32 == 0 ? 32 : 16;
                best = new ModelShape { NLayer = layers, NEmbd = width, NHead = width / headDim, BlockSize = blockSize };
            }
        }
        // 25% off in N is about 7% off in loss at alpha = 0.34 from the intended point: past that, say so.
        if (best is null || bestErr > Math.Log(1.25))
            throw new ArgumentException(
                $"{where}: params {target:G3} has no GPT shape within 25% (smallest is 1 layer x 16 wide = {12 * 16 * 16} non-embedding params); give n_layer/n_head/n_embd instead");
        return best;
    }
}
