using Orchestrator.DataPipeline.Loading;
using Orchestrator.DataPipeline.Tokenization;
using Orchestrator.Tests.DataPipeline.Support;

namespace Orchestrator.Tests.DataPipeline.Loading;

/// <summary>
/// The loader's contract: one global, seeded order per epoch that every world size walks the same way. The
/// reference is that order read by a single rank one block at a time; every rank of every world size must see
/// exactly the blocks at its positions of it.
/// </summary>
public sealed class ExactlyOnceTests : IClassFixture<ExactlyOnceTests.Fixture>
{
    public sealed class Fixture : IDisposable
    {
        public TempDir Dir { get; } = new();
        public string Corpus => Dir["corpus"];
        public long Blocks { get; }
        public const int Block = 16;

        public Fixture()
        {
            var m = Corpora.WriteAsync(Corpus, Corpora.RandomDocuments(120, seed: 3), BytesTokenizer.Instance).GetAwaiter().GetResult();
            Blocks = m.Train.Blocks;
        }

        /// <summary>Global positions 0..count-1 of the shuffled stream (seed 7), as block texts.</summary>
        public List<string> Reference(long count)
        {
            using var loader = TokenLoader.Open(new LoaderOptions(Corpus, "train", 1, Block, Seed: 7));
            var list = new List<string>();
            var x = new long[Block];
            var y = new long[Block];
            for (long i = 0; i < count; i++)
            {
                loader.NextBatch(x, y);
                list.Add(Key(x, y, 0, Block));
            }
            return list;
        }

        public void Dispose() => Dir.Dispose();
    }

    readonly Fixture _f;
    public ExactlyOnceTests(Fixture f) => _f = f;

    static string Key(long[] x, long[] y, int row, int t) =>
        string.Join(',', x.Skip(row * t).Take(t)) + "|" + y[row * t + t - 1];

    [Fact]
    public void Corpus_has_many_row_groups_and_shards()
    {
        var m = Orchestrator.DataPipeline.Corpus.CorpusManifest.Read(_f.Corpus);
        Assert.True(m.Train.Shards.Count >= 3, $"{m.Train.Shards.Count} shards");
        Assert.True(m.Train.RowGroups >= 8, $"{m.Train.RowGroups} row groups");
    }

    [Fact]
    public void One_epoch_of_the_reference_holds_every_block_once()
    {
        var all = Corpora.BlocksInOrder(_f.Corpus, "train", Fixture.Block).Select(b => string.Join(',', b[..^1]) + "|" + b[^1]).ToList();
        Assert.Equal(all.Count, all.Distinct().Count()); // random text: blocks are distinct
        var epoch = _f.Reference(_f.Blocks);
        Assert.Equal(all.OrderBy(s => s, StringComparer.Ordinal), epoch.OrderBy(s => s, StringComparer.Ordinal));
        Assert.NotEqual(all, epoch); // and it is shuffled
    }

    [Theory]
    [InlineData(1, 4)]
    [InlineData(2, 3)]
    [InlineData(3, 2)]
    [InlineData(4, 5)]
    public void Every_rank_sees_its_positions_of_the_global_order(int world, int batch)
    {
        int steps = (int)(_f.Blocks / (world * batch)) + 2; // past the end of epoch 0
        var reference = _f.Reference((long)steps * world * batch);
        var seen = new string?[steps * world * batch];
        for (int r = 0; r < world; r++)
        {
            using var loader = TokenLoader.Open(new LoaderOptions(_f.Corpus, "train", batch, Fixture.Block, r, world, Seed: 7));
            var x = new long[batch * Fixture.Block];
            var y = new long[batch * Fixture.Block];
            for (int s = 0; s < steps; s++)
            {
                loader.NextBatch(x, y);
                for (int j = 0; j < batch; j++) seen[s * world * batch + r * batch + j] = Key(x, y, j, Fixture.Block);
            }
            long total = (long)steps * world * batch;
            Assert.Equal(new LoaderCursor((int)(total / _f.Blocks), total % _f.Blocks, 7), loader.Cursor);
        }
        Assert.Equal(reference, seen);
        // Exactly once: the first epoch's worth of positions holds every block once.
        Assert.Equal((int)_f.Blocks, seen.Take((int)_f.Blocks).Distinct().Count());
    }

    [Fact]
    public void Resume_at_world_3_from_a_cursor_saved_at_world_4_mid_epoch_continues_exactly_once()
    {
        const int batch = 3;
        int firstSteps = (int)(_f.Blocks / (4 * batch)) / 2; // mid-epoch
        Assert.True(firstSteps >= 1);
        var stream = new List<string>();
        LoaderCursor? cursor = null;
        var perStep = new string[4 * batch];
        var loaders = Enumerable.Range(0, 4).Select(r => TokenLoader.Open(new LoaderOptions(_f.Corpus, "train", batch, Fixture.Block, r, 4, Seed: 7))).ToList();
        var x = new long[batch * Fixture.Block];
        var y = new long[batch * Fixture.Block];
        for (int s = 0; s < firstSteps; s++)
        {
            for (int r = 0; r < 4; r++)
            {
                loaders[r].NextBatch(x, y);
                for (int j = 0; j < batch; j++) perStep[r * batch + j] = Key(x, y, j, Fixture.Block);
            }
            stream.AddRange(perStep);
            cursor = loaders[0].Cursor;
            Assert.All(loaders, l => Assert.Equal(cursor, l.Cursor));
        }
        loaders.ForEach(l => l.Dispose());
        Assert.Equal(0, cursor!.Epoch);
        Assert.Equal(firstSteps * 4L * batch, cursor.Consumed);

        // A new run at world size 3 resumes from the cursor (with a different --seed: the cursor's wins).
        var resumed = Enumerable.Range(0, 3).Select(r => TokenLoader.Open(new LoaderOptions(_f.Corpus, "train", batch, Fixture.Block, r, 3, Seed: 99, Resume: cursor))).ToList();
        perStep = new string[3 * batch];
        while (stream.Count < _f.Blocks)
        {
            for (int r = 0; r < 3; r++)
            {
                resumed[r].NextBatch(x, y);
                for (int j = 0; j < batch; j++) perStep[r * batch + j] = Key(x, y, j, Fixture.Block);
            }
            stream.AddRange(perStep);
        }
        resumed.ForEach(l => l.Dispose());
        var epoch = stream.Take((int)_f.Blocks).ToList();
        Assert.Equal((int)_f.Blocks, epoch.Distinct().Count()); // none twice, so none skipped
        Assert.Equal(_f.Reference(stream.Count), stream);
    }

    [Fact]
    public void Resuming_from_a_cursor_yields_the_identical_stream()
    {
        const int batch = 2, world = 2, rank = 1;
        var x = new long[batch * Fixture.Block];
        var y = new long[batch * Fixture.Block];
        var after = new List<long[]>();
        LoaderCursor cursor;
        using (var a = TokenLoader.Open(new LoaderOptions(_f.Corpus, "train", batch, Fixture.Block, rank, world, Seed: 5)))
        {
            for (int i = 0; i < 7; i++) a.NextBatch(x, y);
            cursor = a.Cursor;
            for (int i = 0; i < 40; i++) { a.NextBatch(x, y); after.Add([.. x, .. y]); }
        }
        using var b = TokenLoader.Open(new LoaderOptions(_f.Corpus, "train", batch, Fixture.Block, rank, world, Seed: 5, Resume: cursor));
        for (int i = 0; i < 40; i++) { b.NextBatch(x, y); Assert.Equal(after[i], (long[])[.. x, .. y]); }
    }

    [Fact]
    public void Epochs_use_different_orders_and_shorter_blocks_are_prefixes()
    {
        var two = _f.Reference(2 * _f.Blocks);
        Assert.NotEqual(two.Take((int)_f.Blocks), two.Skip((int)_f.Blocks));
        Assert.Equal(two.Take((int)_f.Blocks).Order(StringComparer.Ordinal), two.Skip((int)_f.Blocks).Order(StringComparer.Ordinal));

        using var shortLoader = TokenLoader.Open(new LoaderOptions(_f.Corpus, "train", 1, 8, Seed: 7));
        var x = new long[8];
        var y = new long[8];
        for (int i = 0; i < 10; i++)
        {
            shortLoader.NextBatch(x, y);
            var full = two[i].Split('|')[0].Split(',').Select(long.Parse).ToArray();
            Assert.Equal(full[..8], x);
            Assert.Equal(full[1..9], y);
        }
    }
}
