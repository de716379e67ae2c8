using System.Collections.Concurrent;
using System.Threading.Channels;
using Orchestrator.DataPipeline.Corpus;

namespace Orchestrator.DataPipeline.Loading;

/// <summary>
/// The streaming, rank-sharded, resumable loader over a prepared corpus.
///
/// Exactly once at any world size: every epoch has one global order of blocks (<see cref="EpochOrder"/>), and
/// epochs follow each other as one endless sequence. A global step takes the next W x B blocks of it: rank r
/// gets blocks [c + r*B, c + (r+1)*B), then c advances by W x B (a step that crosses the end of an epoch takes
/// the rest of it and continues in the next). The cursor (epoch, c) is world-size independent, so resuming at
/// W' continues the same sequence: no block twice, none skipped.
///
/// Memory: one window of row groups (8 x about 512 Ki tokens) plus the prefetch queue, whatever the corpus size.
/// I/O: ranks share windows, so each rank decodes the whole split once an epoch (read amplification W) and
/// keeps its 1/W; decoding is far faster than a GPU consumes tokens.
/// </summary>
public sealed class TokenLoader : IBatchSource
{
    sealed record Batch(long[] Inputs, long[] Targets, LoaderCursor After);

    readonly LoaderOptions _options;
    readonly SplitLayout _layout;
    readonly RowGroupReader _reader;
    readonly Channel<Batch> _queue;
    readonly ConcurrentQueue<long[]> _free = new();
    readonly CancellationTokenSource _stop = new();
    readonly Task _producer;
    readonly int _seed;

    public CorpusManifest Manifest { get; }
    public int BatchSize => _options.BatchSize;
    public int BlockSize => _options.BlockSize;
    public int VocabSize => Manifest.VocabSize;
    public int EndOfText => Manifest.EndOfText;
    public LoaderCursor Cursor { get; private set; }
    /// <summary>Blocks in one epoch of the split.</summary>
    public long BlocksPerEpoch => _layout.Blocks;

    public static TokenLoader Open(LoaderOptions options) => new(options);

    TokenLoader(LoaderOptions options)
    {
        _options = options;
        Manifest = CorpusManifest.Read(options.CorpusDir);
        var split = Manifest.Split(options.Split);
        if (options.BatchSize < 1) throw new ArgumentException($"batch size must be at least 1 (got {options.BatchSize})");
        if (options.BlockSize < 1 || options.BlockSize > Manifest.BlockSize)
            throw new ArgumentException($"block {options.BlockSize} does not fit corpus '{options.CorpusDir}' (block size {Manifest.BlockSize}): use --block <= {Manifest.BlockSize} or prepare with a larger --block-size");
        if (options.WorldSize < 1 || options.Rank < 0 || options.Rank >= options.WorldSize)
            throw new ArgumentException($"rank {options.Rank} is not in a world of {options.WorldSize}");
        if (split.Blocks == 0)
            throw new InvalidDataException($"corpus '{options.CorpusDir}' has no {options.Split} blocks: prepare it with more text or a larger --val-fraction");
        _layout = new SplitLayout(split);
        var resume = options.Resume ?? LoaderCursor.Start(options.Seed);
        if (resume.Epoch < 0 || resume.Consumed < 0)
            throw new ArgumentException($"invalid loader cursor {resume}");
        // The cursor's seed wins: a resumed run must see exactly the stream it would have seen.
        _seed = resume.Seed;
        Cursor = Normalize(resume.Epoch, resume.Consumed);
        _reader = new RowGroupReader(options.CorpusDir, Manifest, split, _layout);
        _queue = Channel.CreateBounded<Batch>(new BoundedChannelOptions(Math.Max(1, options.PrefetchBatches))
        {
            SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait,
        });
        _producer = Task.Run(() => ProduceAsync(_stop.Token));
    }

    LoaderCursor Normalize(long epoch, long consumed)
    {
        epoch += consumed / _layout.Blocks;
        return new LoaderCursor(checked((int)epoch), consumed % _layout.Blocks, _seed);
    }

    public void NextBatch(Span<long> inputs, Span<long> targets)
    {
        int n = _options.BatchSize * _options.BlockSize;
        if (inputs.Length != n || targets.Length != n)
            throw new ArgumentException($"inputs and targets must each hold B*T = {n} ids");
        Batch batch;
        try
        {
            while (!_queue.Reader.TryRead(out batch!))
                if (!_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
                    throw new ObjectDisposedException(nameof(TokenLoader));
        }
        catch (ChannelClosedException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
        batch.Inputs.AsSpan().CopyTo(inputs);
        batch.Targets.AsSpan().CopyTo(targets);
        Cursor = batch.After;
        _free.Enqueue(batch.Inputs);
        _free.Enqueue(batch.Targets);
    }

    async Task ProduceAsync(CancellationToken ct)
    {
        try
        {
            int B = _options.BatchSize, T = _options.BlockSize, W = _options.WorldSize, r = _options.Rank;
            int rowTokens = Manifest.BlockSize + 1;
            long N = _layout.Blocks;
            long epoch = Cursor.Epoch, consumed = Cursor.Consumed;
            EpochOrder? order = null;
            long orderEpoch = -1, window = -1;
            while (!ct.IsCancellationRequested)
            {
                var inputs = Rent(B * T);
                var targets = Rent(B * T);
                for (int j = 0; j < B; j++)
                {
                    long p = consumed + (long)r * B + j, e = epoch;
                    if (p >= N) { e += p / N; p %= N; }
                    if (e != orderEpoch)
                    {
                        order = new EpochOrder(_layout, _seed, checked((int)e), _options.Shuffle);
                        orderEpoch = e;
                        window = -1;
                    }
                    int w = order!.WindowOf(p);
                    if (w != window)
                    {
                        await _reader.RetainAsync(order.RowGroupsOf(w).ToArray());
                        window = w;
                    }
                    var (g, blk) = order.Locate(p);
                    var tokens = await _reader.GetAsync(g, ct);
                    var src = tokens.AsSpan(blk * rowTokens, T + 1);
                    var inDst = inputs.AsSpan(j * T, T);
                    var tgDst = targets.AsSpan(j * T, T);
                    for (int t = 0; t < T; t++) { inDst[t] = src[t]; tgDst[t] = src[t + 1]; }
                }
                consumed += (long)W * B;
                epoch += consumed / N;
                consumed %= N;
                await _queue.Writer.WriteAsync(new Batch(inputs, targets, new LoaderCursor(checked((int)epoch), consumed, _seed)), ct);
            }
            _queue.Writer.TryComplete();
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            _queue.Writer.TryComplete();
        }
        catch (Exception e)
        {
            _queue.Writer.TryComplete(e);
        }
    }

    long[] Rent(int n) => _free.TryDequeue(out var a) && a.Length == n ? a : new long[n];

    public void Dispose()
    {
        _stop.Cancel();
        try { _producer.Wait(); } catch (AggregateException) { /* the producer reports through the queue */ }
        _reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _stop.Dispose();
    }
}
