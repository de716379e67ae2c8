namespace Orchestrator.Contracts.Runs;

/// <summary>What one rank of a GPT run is estimated to hold on its device (bytes).</summary>
[GenerateSerializer, Immutable, Alias("orch.MemoryEstimate")]
public sealed record MemoryEstimate(
    [property: Id(0)] long Parameters, [property: Id(1)] long ParameterBytes, [property: Id(2)] long ActivationBytes,
    [property: Id(3)] long WorkspaceBytes)
{
    public long TotalBytes => ParameterBytes + ActivationBytes + WorkspaceBytes;

    public override string ToString() =>
        $"{Gib(TotalBytes)} ({Parameters:N0} parameters: {Gib(ParameterBytes)}, activations {Gib(ActivationBytes)}, workspace {Gib(WorkspaceBytes)})";

    public static string Gib(long bytes) => $"{bytes / (double)(1L << 30):0.00} GiB";
}

/// <summary>
/// The one estimate of a GPT rank's device memory, used to pack runs onto shared devices and for memory limits. It is
/// an upper-leaning estimate, not a measurement; its risk is under-counting, so every term rounds up:
/// <list type="bullet">
/// <item>parameters x 16 bytes (fp32 master, fp32 flat gradient, AdamW's two moments), plus 4 bytes on CUDA for the
/// bf16 compute copy and its autograd gradient;</item>
/// <item>activations saved for backward, per layer and token 34·C bytes at 16 bits (Korthikanti et al. 2022, without
/// the attention-score term: CUDA's SDPA is flash attention), doubled for fp32 on CPU, where SDPA's math path also
/// keeps B·H·T² scores three times over; the logits B·T·V in the compute dtype plus the loss's fp32 copy and its
/// gradient; the embeddings' output;</item>
/// <item>a fixed 256 MiB workspace on CUDA (cuBLAS, the allocator's rounding), 64 MiB on CPU.</item>
/// </list>
/// Parameters count as nanoGPT's model holds them: 12·L·C² + 13·L·C in the blocks, the padded vocabulary and the
/// position table.
/// </summary>
public static class RunMemory
{
    /// <summary>Vocabulary assumed when the corpus cannot be read where the estimate is made (GPT-2's, padded).</summary>
    public const int DefaultVocab = 50304;

    /// <summary>One rank's estimate for a model shape at micro-batch <paramref name="batch"/> on <paramref name="device"/> (cpu or cuda).</summary>
    public static MemoryEstimate Estimate(ModelShape shape, int batch, int vocab, string device)
    {
        var m = ModelShapes.Resolve(shape);
        if (m.NLayer < 1 || m.NEmbd < 1 || m.NHead < 1 || m.BlockSize < 1 || batch < 1 || vocab < 1)
            throw new ArgumentException($"memory estimate: shape {m.NLayer}x{m.NEmbd} (heads {m.NHead}, block {m.BlockSize}), batch {batch}, vocab {vocab} must all be positive");
        bool cuda = device == "cuda";
        long L = m.NLayer, C = m.NEmbd, T = m.BlockSize, B = batch, H = m.NHead;
        long V = ModelShapes.PaddedVocab(vocab);
        long parameters = ModelShapes.BlockParameters(m.NLayer, m.NEmbd, bias: true) + ModelShapes.EmbeddingParameters(vocab, m.BlockSize, m.NEmbd);
        long parameterBytes = parameters * (cuda ? 20 : 16);
        long a = cuda ? 2 : 4; // bytes per activation element
        long tokens = B * T;
        long perLayer = tokens * C * 17 * a + (cuda ? 0 : 3 * B * H * T * T * 4);
        long logits = tokens * V * (a + 4 + 4);
        long embeddings = tokens * C * 4 * a;
        long activationBytes = L * perLayer + logits + embeddings;
        long workspace = (cuda ? 256L : 64L) << 20;
        return new MemoryEstimate(parameters, parameterBytes, activationBytes, workspace);
    }

    /// <summary>The estimate for a run spec's rank, or null for runs without a model (the light trainer).</summary>
    public static MemoryEstimate? Estimate(RunSpec spec, int vocab) =>
        spec.Trainer == "gpt" ? Estimate(spec.Model, spec.Batch, vocab, spec.Device) : null;
}
