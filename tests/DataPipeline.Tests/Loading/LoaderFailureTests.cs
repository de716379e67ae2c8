using Orchestrator.DataPipeline.Loading;
using Orchestrator.DataPipeline.Tokenization;
using Orchestrator.Tests.DataPipeline.Support;

namespace Orchestrator.Tests.DataPipeline.Loading;

public sealed class LoaderFailureTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_damaged_shard_surfaces_from_NextBatch_naming_the_file()
    {
        var corpus = _dir["c"];
        await Corpora.WriteAsync(corpus, Corpora.RandomDocuments(40, 1), BytesTokenizer.Instance, valFraction: 0, rowGroupsPerShard: 100);
        var shard = Path.Combine(corpus, "train-00000.parquet");
        var bytes = await File.ReadAllBytesAsync(shard);
        await File.WriteAllBytesAsync(shard, bytes[..(bytes.Length / 2)]);
        using var loader = TokenLoader.Open(new LoaderOptions(corpus, "train", 2, 16));
        var x = new long[32];
        var y = new long[32];
        var e = Assert.Throws<InvalidDataException>(() => loader.NextBatch(x, y));
        Assert.Contains("train-00000.parquet", e.Message);
        Assert.Contains("prepare the corpus again", e.Message);
    }

    [Fact]
    public async Task Wrong_buffer_sizes_and_ranks_are_refused()
    {
        var corpus = _dir["c"];
        await Corpora.WriteAsync(corpus, Corpora.RandomDocuments(40, 1), BytesTokenizer.Instance);
        using var loader = TokenLoader.Open(new LoaderOptions(corpus, "train", 2, 16));
        Assert.Throws<ArgumentException>(() => loader.NextBatch(new long[31], new long[32]));
        Assert.Throws<ArgumentException>(() => TokenLoader.Open(new LoaderOptions(corpus, "train", 2, 16, Rank: 2, WorldSize: 2)));
        Assert.Throws<ArgumentException>(() => TokenLoader.Open(new LoaderOptions(corpus, "test", 2, 16)));
        Assert.Equal(257, loader.VocabSize);
        Assert.Equal(LoaderCursor.Start(1337), loader.Cursor);
    }
}
