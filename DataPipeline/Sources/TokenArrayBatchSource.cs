
namespace Orchestrator.DataPipeline.Loading;

/// <summary>
/// Random windows of an in-memory token stream, as nanoGPT's get_batch does. Window starts come from a generator
/// seeded by (seed, global sequence index), so the stream is deterministic and resumes exactly from a
/// <see cref="LoaderCursor"/>. Used for nanoGPT-format corpora (train.bin / val.bin) and in tests.
/// </summary>
public sealed class TokenArrayBatchSource : IBatchSource
{
    readonly int[] _tokens;
    readonly int _seed, _rank, _world;
    long _consumed;

    public TokenArrayBatchSource(int[] tokens, int vocabSize, int batchSize, int blockSize, int seed = 1337, LoaderCursor? resume = null, int rank = 0, int worldSize = 1)
    {
        if (tokens.Length < blockSize + 1)
            throw new ArgumentException($"the token stream has {tokens.Length} tokens, fewer than block size {blockSize} + 1; use a smaller --block-size");
        _tokens = tokens;
        VocabSize = vocabSize;
        BatchSize = batchSize;
        BlockSize = blockSize;
        _seed = seed;
        _rank = rank;
        _world = worldSize;
        _consumed = resume?.Consumed ?? 0;
    }

    public int BatchSize { get; }
    public int BlockSize { get; }
    public int VocabSize { get; }
    public LoaderCursor Cursor => new(0, _consumed, _seed);

    public void NextBatch(Span<long> inputs, Span<long> targets)
    {
        int span = _tokens.Length - BlockSize;
        for (int b = 0; b < BatchSize; b++)
        {
            var rng = new Random(DeterministicSeed(_seed, _consumed + (long)_rank * BatchSize + b));
            int start = rng.Next(span);
            for (int t = 0; t < BlockSize; t++)
            {
                inputs[b * BlockSize + t] = _tokens[start + t];
                targets[b * BlockSize + t] = _tokens[start + t + 1];
            }
        }
        _consumed += (long)BatchSize * _world;
    }

    public void Dispose() { }

    /// <summary>
    /// A seed that is the same in every process (HashCode.Combine is randomised per process): SplitMix64 of
    /// (seed, index).
    /// </summary>
    public static int DeterministicSeed(long seed, long index)
    {
        const ulong golden = 0x9E3779B97F4A7C15UL; // SplitMix adds it before mixing
        return (int)DeterministicShuffle.SplitMix(unchecked((ulong)seed * golden + (ulong)index + 0x5EED - golden));
    }
}
