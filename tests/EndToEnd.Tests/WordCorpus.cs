using System.Text;
using Xunit;

namespace Orchestrator.Tests.EndToEnd;

/// <summary>
/// A small corpus for end-to-end runs: <c>count</c> words drawn from <c>words</c> with a seeded generator, a sentence
/// ending every <c>sentence</c> words, written to DIR/text/a.txt and prepared by `orch data prepare` (bytes tokenizer)
/// into DIR/corpus, whose path it returns. The same arguments give the same corpus.
/// </summary>
static class WordCorpus
{
    public static async Task<string> PrepareAsync(string dir, int seed, string[] words, int count, int sentence, int blockSize)
    {
        var text = new StringBuilder();
        var rng = new Random(seed);
        for (int i = 0; i < count; i++) text.Append(words[rng.Next(words.Length)]).Append(i % sentence == sentence - 1 ? ".\n" : " ");
        Directory.CreateDirectory(Path.Combine(dir, "text"));
        File.WriteAllText(Path.Combine(dir, "text", "a.txt"), text.ToString());
        var corpus = Path.Combine(dir, "corpus");
        var prep = await OrchProcess.RunAsync("data", "prepare", "--input", Path.Combine(dir, "text"), "--out", corpus,
            "--tokenizer", "bytes", "--block-size", $"{blockSize}");
        Assert.True(prep.Exit == 0, prep.Stderr);
        return corpus;
    }
}
