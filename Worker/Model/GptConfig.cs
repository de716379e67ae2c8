using Orchestrator.Contracts.Runs;

namespace Orchestrator.Worker.Model;

/// <summary>
/// Shape of a GPT-2-family decoder (nanoGPT's GPTConfig). Validate with <see cref="Validate"/> before building a model.
/// </summary>
/// <param name="NLayer">Transformer blocks (L).</param>
/// <param name="NHead">Attention heads per block (H); must divide <paramref name="NEmbd"/>.</param>
/// <param name="NEmbd">Residual stream width (C).</param>
/// <param name="BlockSize">Longest context the position embedding covers (T max).</param>
/// <param name="VocabSize">Tokenizer vocabulary; the embedding uses <see cref="PaddedVocabSize"/> rows.</param>
/// <param name="Bias">Biases in Linear and LayerNorm layers (GPT-2: true; a little better and faster: false).</param>
/// <param name="Dropout">Dropout probability; 0 for pretraining, 0.1+ for finetuning.</param>
/// <param name="Parametrization">"sp" (standard, GPT-2's) or "mup" (maximal update parametrization: see <see cref="Gpt"/>).</param>
/// <param name="BaseWidth">μP's base width: at n_embd = base_width μP's multipliers are 1; 0 under SP.</param>
public sealed record GptConfig(
    int NLayer = 12, int NHead = 12, int NEmbd = 768, int BlockSize = 1024, int VocabSize = 50257,
    bool Bias = true, double Dropout = 0.0, string Parametrization = Parametrizations.Standard, int BaseWidth = 0)
{
    /// <summary>True under μP.</summary>
    public bool Mup => Parametrization == Parametrizations.Mup;

    /// <summary>
    /// base_width / n_embd under μP (1 under SP): the output logits' multiplier and the hidden matrices' learning-rate
    /// and initial-variance factor.
    /// </summary>
    public double WidthRatio => Mup ? (double)BaseWidth / NEmbd : 1.0;

    /// <summary>Vocabulary rounded up to a multiple of 64 (tensor-core friendly; GPT-2's 50257 becomes 50304).</summary>
    public int PaddedVocabSize => ModelShapes.PaddedVocab(VocabSize);

    /// <summary>Width of one head (C / H).</summary>
    public int HeadSize => NEmbd / NHead;

    /// <summary>Throws <see cref="ArgumentException"/> naming the field and the fix when the shape cannot be built.</summary>
    public GptConfig Validate()
    {
        if (NLayer < 1) throw new ArgumentException($"model: n_layer={NLayer} must be at least 1");
        if (NHead < 1) throw new ArgumentException($"model: n_head={NHead} must be at least 1");
        if (NEmbd < 1) throw new ArgumentException($"model: n_embd={NEmbd} must be at least 1");
        if (NEmbd % NHead != 0)
            throw new ArgumentException(
                $"model: n_embd={NEmbd} is not divisible by n_head={NHead}; pick n_embd as a multiple of n_head (for example n_embd={NEmbd / NHead * NHead + NHead})");
        if (BlockSize < 1) throw new ArgumentException($"model: block_size={BlockSize} must be at least 1");
        if (VocabSize < 2) throw new ArgumentException($"model: vocab_size={VocabSize} must be at least 2");
        if (Dropout is < 0 or >= 1) throw new ArgumentException($"model: dropout={Dropout} must be in [0, 1)");
        if (Parametrizations.Problem(Parametrization, BaseWidth, NEmbd, "model") is { } problem) throw new ArgumentException(problem);
        return this;
    }

    /// <summary>All parameters (tied head counted once, padded vocabulary included).</summary>
    public long ParameterCount => EmbeddingParameterCount + NonEmbeddingParameterCount;

    /// <summary>Token and position embeddings (the tied head shares the token embedding).</summary>
    public long EmbeddingParameterCount => ModelShapes.EmbeddingParameters(VocabSize, BlockSize, NEmbd);

    /// <summary>
    /// Non-embedding parameters N, as Kaplan et al. count for scaling laws: the blocks and the final LayerNorm.
    /// </summary>
    public long NonEmbeddingParameterCount => ModelShapes.BlockParameters(NLayer, NEmbd, Bias);

    /// <summary>
    /// Training FLOPs per token at sequence length <paramref name="seqLen"/>, nanoGPT's estimate_mfu:
    /// 6N + 12·L·H·Q·T with N the parameter count less the position embedding (as nanoGPT's get_num_params).
    /// </summary>
    public double FlopsPerToken(int seqLen) => ModelShapes.FlopsPerToken(ParameterCount - (long)BlockSize * NEmbd, NLayer, NHead, NEmbd, seqLen);
}
