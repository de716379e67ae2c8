namespace Orchestrator.DataPipeline.Loading;

/// <summary>
/// A stream of (input, target) batches for one rank. Inputs and targets are row-major (B, T) token ids:
/// target[b, t] = the token after input[b, t]. Implementations prefetch in the background.
/// </summary>
public interface IBatchSource : IDisposable
{
    /// <summary>Sequences per batch (B).</summary>
    int BatchSize { get; }

    /// <summary>Tokens per sequence (T).</summary>
    int BlockSize { get; }

    /// <summary>Vocabulary size of the corpus' tokenizer (not padded).</summary>
    int VocabSize { get; }

    /// <summary>Fills <paramref name="inputs"/> and <paramref name="targets"/> (each B*T long) with this rank's next batch.</summary>
    void NextBatch(Span<long> inputs, Span<long> targets);

    /// <summary>
    /// Where the stream stands after the last batch handed out. World-size independent: resuming from it at any
    /// world size continues the epoch exactly once (no block seen twice, none skipped).
    /// </summary>
    LoaderCursor Cursor { get; }
}

/// <summary>
/// A loader position that goes into checkpoints. <see cref="Consumed"/> counts blocks handed out in
/// <see cref="Epoch"/> by all ranks together, so it is the same on every rank and means the same at any world size.
/// </summary>
public sealed record LoaderCursor(int Epoch, long Consumed, int Seed)
{
    public static LoaderCursor Start(int seed) => new(0, 0, seed);
}

/// <summary>What a loader is asked to stream.</summary>
/// <param name="CorpusDir">Output folder of `orch data prepare` (has manifest.json).</param>
/// <param name="Split">"train" or "val".</param>
/// <param name="BatchSize">Sequences per batch for this rank.</param>
/// <param name="BlockSize">Tokens per sequence; at most the corpus' block size.</param>
/// <param name="Rank">This rank, 0..WorldSize-1.</param>
/// <param name="WorldSize">Number of ranks sharing the epoch.</param>
/// <param name="Seed">Shuffle seed; epoch e uses a permutation derived from (Seed, e).</param>
/// <param name="Resume">Where to continue from; null starts at epoch 0.</param>
/// <param name="PrefetchBatches">Bound of the background prefetch queue.</param>
public sealed record LoaderOptions(
    string CorpusDir, string Split, int BatchSize, int BlockSize, int Rank = 0, int WorldSize = 1, int Seed = 1337,
    LoaderCursor? Resume = null, int PrefetchBatches = 4)
{
    /// <summary>False streams blocks in corpus order (evaluation, tests); the cursor means the same either way.</summary>
    public bool Shuffle { get; init; } = true;
}
