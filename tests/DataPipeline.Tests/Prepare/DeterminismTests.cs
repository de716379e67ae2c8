using Orchestrator.DataPipeline.Prepare;
using Orchestrator.Tests.DataPipeline.Support;

namespace Orchestrator.Tests.DataPipeline.Prepare;

/// <summary>Tokenizing runs on all cores, yet the output is byte-for-byte the same whatever the thread count.</summary>
public sealed class DeterminismTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Shards_are_identical_with_one_or_many_threads()
    {
        var jsonl = _dir["in.jsonl"];
        // Many small documents: many chunks in flight at once.
        await File.WriteAllLinesAsync(jsonl, Corpora.RandomDocuments(10_000, 5, 1, 60).Select(t => System.Text.Json.JsonSerializer.Serialize(new { text = t })));
        async Task<string[]> Run(string name, int threads)
        {
            var r = await CorpusPreparer.PrepareAsync(new PrepareOptions
            {
                Inputs = [jsonl], OutDir = _dir[name], Tokenizer = "cl100k", BlockSize = 64, Threads = threads, RowGroupTokens = 65 * 100, RowGroupsPerShard = 2,
            });
            return [.. r.Manifest.Train.Shards.Concat(r.Manifest.Val.Shards).Select(s => s.Sha256)];
        }
        var one = await Run("one", 1);
        var many = await Run("many", 8);
        Assert.True(one.Length > 2);
        Assert.Equal(one, many);
    }
}
