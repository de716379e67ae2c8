using Orchestrator.DataPipeline.Corpus;
using Orchestrator.DataPipeline.Prepare;
using Orchestrator.DataPipeline.Tokenization;
using Orchestrator.DataPipeline.Tokenization.Bpe;
using Orchestrator.Tests.DataPipeline.Support;

namespace Orchestrator.Tests.DataPipeline.Prepare;

/// <summary>text -> prepare -> loader -> decode gives back the original documents.</summary>
public sealed class RoundTripTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static readonly string[] Texts =
    [
        "The quick brown fox jumps over the lazy dog.\nSecond line.",
        "Ünïcödé: naïve café, 日本語のテキスト, emoji 🚀🎉, combining e\u0301, RTL שלום",
        "x",
        "Tabs\tand   spaces,\r\nCRLF lines and trailing space ",
        string.Concat(Enumerable.Repeat("A long document that spans many blocks. ", 60)),
    ];

    string WriteInputs()
    {
        var inputs = Directory.CreateDirectory(_dir["inputs"]).FullName;
        for (int i = 0; i < Texts.Length; i++) File.WriteAllText(Path.Combine(inputs, $"doc{i:D2}.txt"), Texts[i]);
        File.WriteAllText(Path.Combine(inputs, "empty.txt"), ""); // skipped
        return inputs;
    }

    async Task<(CorpusManifest, List<string>)> PrepareAndDecode(string tokenizer, double valFraction)
    {
        var manifest = (await CorpusPreparer.PrepareAsync(new PrepareOptions
        {
            Inputs = [WriteInputs()], OutDir = _dir["corpus"], Tokenizer = tokenizer, BlockSize = 32,
            ValFraction = valFraction, RowGroupTokens = 33 * 4, RowGroupsPerShard = 2,
        })).Manifest;
        var tok = Tokenizers.Open(_dir["corpus"]);
        var docs = CorpusStream.Documents(CorpusStream.Read(_dir["corpus"]), manifest.EndOfText).Select(d => tok.Decode(d)).ToList();
        return (manifest, docs);
    }

    // Folder order is ordinal by name: doc00..doc04, then empty.txt (skipped).
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.2)]
    public async Task Bytes_tokenizer_round_trips(double valFraction)
    {
        var (m, docs) = await PrepareAndDecode("bytes", valFraction);
        Assert.Equal(Texts, docs);
        Assert.Equal(5, m.Documents);
        Assert.Equal(1, m.SkippedDocuments);
        Assert.Equal(Texts.Sum(t => System.Text.Encoding.UTF8.GetByteCount(t) + 1), m.Tokens);
        Assert.Equal("uint16", m.TokenDtype);
        Assert.True(m.Train.Shards.Count >= 2);
        if (valFraction > 0) Assert.Equal((long)Math.Floor((m.Train.Blocks + m.Val.Blocks) * valFraction), m.Val.Blocks);
        else Assert.Equal(0, m.Val.Blocks);
    }

    [Fact]
    public async Task Bpe_tokenizer_round_trips_and_is_copied_into_the_corpus()
    {
        var trainer = new BpeTrainer();
        foreach (var t in Texts) trainer.AddDocument(t);
        var bpe = trainer.Train(300);
        var file = _dir["bpe.json"];
        bpe.Save(file);
        var (m, docs) = await PrepareAndDecode("bpe:" + file, 0.1);
        Assert.Equal(Texts, docs);
        Assert.Equal("bpe", m.Tokenizer);
        Assert.Equal("tokenizer.json", m.TokenizerFile);
        Assert.Equal(bpe.VocabSize, m.VocabSize);
        Assert.True(m.Tokens < Texts.Sum(t => System.Text.Encoding.UTF8.GetByteCount(t)), "BPE compresses");
    }

    [Fact]
    public async Task Cl100k_round_trips_with_int32_tokens()
    {
        var (m, docs) = await PrepareAndDecode("cl100k", 0.1);
        Assert.Equal(Texts, docs);
        Assert.Equal("int32", m.TokenDtype);
        Assert.Equal(100277, m.VocabSize);
        Assert.Equal(100257, m.EndOfText);
    }
}
