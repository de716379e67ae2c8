using Orchestrator.Contracts.Runs;

namespace Orchestrator.Experiments.Planning;

/// <summary>
/// Non-embedding parameter counts and shapes for targets. N = 12·L·d² (Kaplan et al. 2020): attention 4d² and MLP 8d²
/// per layer; biases, LayerNorms and embeddings left out, as in the scaling-law literature.
/// </summary>
public static class ModelShapes
{
    public static long NonEmbeddingParams(ModelShape m) => 12L * m.NLayer * m.NEmbd * m.NEmbd;

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
