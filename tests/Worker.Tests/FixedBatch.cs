using Orchestrator.DataPipeline.Loading;

namespace Orchestrator.Tests.Worker;

/// <summary>Hands out the first batch of another source again and again.</summary>
sealed class FixedBatch : IBatchSource
{
    readonly IBatchSource _inner;
    readonly long[] _x, _y;

    public FixedBatch(IBatchSource inner)
    {
        _inner = inner;
        _x = new long[inner.BatchSize * inner.BlockSize];
        _y = new long[_x.Length];
        inner.NextBatch(_x, _y);
    }

    public int BatchSize => _inner.BatchSize;
    public int BlockSize => _inner.BlockSize;
    public int VocabSize => _inner.VocabSize;
    public LoaderCursor Cursor => _inner.Cursor;
    public void NextBatch(Span<long> inputs, Span<long> targets) { _x.CopyTo(inputs); _y.CopyTo(targets); }
    public void Dispose() { }
}
