
namespace Orchestrator.DataPipeline.Loading;

/// <summary>
/// Uniformly random tokens (benchmarks, tests): batch contents depend only on (seed, position in the stream), so
/// the stream resumes exactly from a <see cref="LoaderCursor"/>.
/// </summary>
public sealed class SyntheticBatchSource(int batchSize, int blockSize, int vocabSize, int seed = 1337, LoaderCursor? resume = null, int rank = 0, int worldSize = 1)
    : IBatchSource
{
    long _consumed = resume?.Consumed ?? 0;

    public int BatchSize => batchSize;
    public int BlockSize => blockSize;
    public int VocabSize => vocabSize;
    public LoaderCursor Cursor => new(0, _consumed, seed);

    public void NextBatch(Span<long> inputs, Span<long> targets)
    {
        for (int b = 0; b < batchSize; b++)
        {
            var rng = new Random(TokenArrayBatchSource.DeterministicSeed(seed, _consumed + (long)rank * batchSize + b));
            long prev = rng.Next(vocabSize);
            for (int t = 0; t < blockSize; t++)
            {
                long next = rng.Next(vocabSize);
                inputs[b * blockSize + t] = prev;
                targets[b * blockSize + t] = next;
                prev = next;
            }
        }
        _consumed += (long)batchSize * worldSize;
    }

    public void Dispose() { }
}
