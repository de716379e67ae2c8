using Orchestrator.DataPipeline.Corpus;
using Orchestrator.DataPipeline.Inputs;
using Orchestrator.DataPipeline.Prepare;
using Orchestrator.Tests.DataPipeline.Support;
using Parquet;
using Parquet.Schema;

namespace Orchestrator.Tests.DataPipeline.Prepare;

/// <summary>
/// Bad input gets one clear error (an exception type the CLI maps to exit 2: ArgumentException,
/// InvalidDataException, FileNotFoundException, DirectoryNotFoundException) and leaves no manifest behind.
/// </summary>
public sealed class BadInputTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    string Out => _dir["out"];

    Task<PrepareResult> Prepare(string input, string tokenizer = "bytes", string column = "text", string dtype = "auto",
        bool force = false, InvalidUtf8Policy utf8 = InvalidUtf8Policy.Refuse, Action<string>? warn = null) =>
        CorpusPreparer.PrepareAsync(new PrepareOptions
        {
            Inputs = [input], OutDir = Out, Tokenizer = tokenizer, TextColumn = column, TokenDtype = dtype, Force = force,
            BlockSize = 16, InvalidUtf8 = utf8, Warn = warn, RowGroupTokens = 17 * 4,
        });

    async Task<T> Fails<T>(Func<Task> act, params string[] inMessage) where T : Exception
    {
        var e = await Assert.ThrowsAsync<T>(act);
        foreach (var s in inMessage) Assert.Contains(s, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(File.Exists(Path.Combine(Out, CorpusManifest.FileName)), "no manifest after a failure");
        Assert.False(Directory.Exists(Out) && Directory.EnumerateFiles(Out).Any(), "nothing left in --out");
        return e;
    }

    string Text(string name, string content)
    {
        var p = _dir[name];
        File.WriteAllText(p, content);
        return p;
    }

    [Fact]
    public Task Missing_input() => Fails<FileNotFoundException>(() => Prepare(_dir["nope.txt"]), "nope.txt", "does not exist");

    [Fact]
    public Task Folder_with_nothing_to_read()
    {
        var d = Directory.CreateDirectory(_dir["empty"]).FullName;
        File.WriteAllText(Path.Combine(d, "image.png"), "x");
        return Fails<DirectoryNotFoundException>(() => Prepare(d), "has nothing to read", ".txt, .jsonl or .parquet");
    }

    [Fact]
    public Task Inputs_with_only_empty_documents()
    {
        var d = Directory.CreateDirectory(_dir["blank"]).FullName;
        File.WriteAllText(Path.Combine(d, "a.txt"), "");
        return Fails<InvalidDataException>(() => Prepare(d), "no text");
    }

    [Fact]
    public async Task Invalid_utf8_is_refused_naming_file_and_byte_or_replaced_with_a_warning()
    {
        var p = _dir["latin1.txt"];
        File.WriteAllBytes(p, [.. "caf"u8, 0xE9, .. " au lait"u8]); // Latin-1 é
        await Fails<InvalidDataException>(() => Prepare(p), "latin1.txt", "not valid UTF-8 at byte 3", "--invalid-utf8 replace");

        var warnings = new List<string>();
        var r = await Prepare(p, utf8: InvalidUtf8Policy.Replace, warn: warnings.Add);
        var w = Assert.Single(warnings, x => x.Contains("UTF-8"));
        Assert.Contains("1 invalid UTF-8 sequence(s) replaced by U+FFFD", w);
        Assert.Contains(warnings, x => x.Contains("val split is empty")); // one block only
        var tok = Orchestrator.DataPipeline.Tokenization.Tokenizers.Open(Out);
        Assert.Equal("caf\uFFFD au lait", tok.Decode(CorpusStream.Documents(CorpusStream.Read(Out), r.Manifest.EndOfText)[0]));
    }

    [Fact]
    public Task Invalid_utf8_in_jsonl_names_the_line()
    {
        var p = _dir["bad.jsonl"];
        File.WriteAllBytes(p, [.. "{\"text\":\"ok\"}\n{\"text\":\"caf"u8, 0xE9, .. "\"}\n"u8]);
        return Fails<InvalidDataException>(() => Prepare(p), "bad.jsonl", "line 2", "not valid UTF-8");
    }

    [Fact]
    public async Task Missing_text_column_lists_the_columns()
    {
        var p = _dir["cols.parquet"];
        await ParquetFiles.WriteAsync(p, ["a", "b"], "body", CompressionMethod.Snappy, 10);
        await Fails<InvalidDataException>(() => Prepare(p), "cols.parquet", "no column 'text'", "id, body, score", "--text-column");
        var j = Text("cols.jsonl", "{\"body\": \"x\", \"n\": 1}\n");
        await Fails<InvalidDataException>(() => Prepare(j), "cols.jsonl", "line 1", "no 'text' field", "body, n");
    }

    [Fact]
    public async Task Non_text_column_is_refused()
    {
        var p = _dir["nums.parquet"];
        await ParquetFiles.WriteAsync(p, ["a", "b"], "text", CompressionMethod.Snappy, 10);
        await Fails<InvalidDataException>(() => Prepare(p, column: "score"), "column 'score' holds Double, not text");
    }

    [Fact]
    public async Task Truncated_parquet_names_the_file()
    {
        var good = _dir["good.parquet"];
        await ParquetFiles.WriteAsync(good, Corpora.RandomDocuments(50, 1), "text", CompressionMethod.Snappy, 10);
        var bytes = await File.ReadAllBytesAsync(good);
        var cut = _dir["cut.parquet"];
        await File.WriteAllBytesAsync(cut, bytes[..(bytes.Length / 2)]);
        await Fails<InvalidDataException>(() => Prepare(cut), "cut.parquet", "not a readable Parquet file");
    }

    [Fact]
    public async Task Damaged_row_group_names_file_and_row_group()
    {
        var good = _dir["good.parquet"];
        await ParquetFiles.WriteAsync(good, Corpora.RandomDocuments(60, 2, 400, 500), "text", CompressionMethod.None, 20);
        var bytes = await File.ReadAllBytesAsync(good);
        int start;
        await using (var reader = await ParquetReader.CreateAsync(good))
        {
            using var rg = reader.OpenRowGroupReader(1);
            var field = reader.Schema.DataFields.First(f => f.Name == "text");
            var meta = rg.GetMetadata(field)!;
            start = (int)meta.MetaData!.DataPageOffset;
        }
        for (int i = 0; i < 64; i++) bytes[start + i] = 0xFF; // smash the page header of row group 1's text column
        var bad = _dir["bad.parquet"];
        await File.WriteAllBytesAsync(bad, bytes);
        await Fails<InvalidDataException>(() => Prepare(bad), "bad.parquet", "row group 1");
    }

    [Fact]
    public Task Not_a_parquet_file() =>
        Fails<InvalidDataException>(() => Prepare(Text("notes.parquet", "just some text, not parquet")), "notes.parquet", "not a readable Parquet file");

    [Fact]
    public Task Vocabulary_too_large_for_uint16() =>
        Fails<ArgumentException>(() => Prepare(Text("a.txt", "hello"), tokenizer: "cl100k", dtype: "uint16"), "cl100k", "100277", "uint16", "int32");

    [Fact]
    public Task Unknown_tokenizer() =>
        Fails<ArgumentException>(() => Prepare(Text("a.txt", "hello"), tokenizer: "gpt9"), "unknown tokenizer 'gpt9'", "bpe:FILE");

    [Fact]
    public Task Missing_bpe_file() =>
        Fails<FileNotFoundException>(() => Prepare(Text("a.txt", "hello"), tokenizer: "bpe:" + _dir["none.json"]), "none.json", "orch tokenizer train");

    [Fact]
    public async Task Output_that_holds_a_corpus_is_refused_unless_force()
    {
        var input = Text("a.txt", "first corpus text");
        var first = await Prepare(input);
        var before = await File.ReadAllTextAsync(Path.Combine(Out, CorpusManifest.FileName));
        var e = await Assert.ThrowsAsync<ArgumentException>(() => Prepare(Text("b.txt", "second")));
        Assert.Contains("already holds a corpus", e.Message);
        Assert.Contains("--force", e.Message);
        Assert.Equal(before, await File.ReadAllTextAsync(Path.Combine(Out, CorpusManifest.FileName))); // untouched

        var second = await Prepare(_dir["b.txt"], force: true);
        Assert.Equal(7, second.Manifest.Tokens); // "second" + end-of-text
        Assert.Equal((await CorpusInspector.InspectAsync(Out)).Shards.Count, Directory.EnumerateFiles(Out, "*.parquet").Count());
        Assert.NotEqual(first.Manifest.Tokens, second.Manifest.Tokens);
    }

    [Fact]
    public async Task Force_with_a_missing_input_keeps_the_old_corpus_and_a_failure_midway_leaves_none()
    {
        await Prepare(Text("a.txt", "first corpus text"));
        var manifest = Path.Combine(Out, CorpusManifest.FileName);
        // Inputs are checked before the old corpus is touched.
        await Assert.ThrowsAsync<FileNotFoundException>(() => Prepare(_dir["missing.txt"], force: true));
        Assert.True((await CorpusInspector.InspectAsync(Out)).Ok);
        // Bad bytes are found while reading, after --force removed the old corpus: nothing is left, no manifest.
        var bad = _dir["bad.txt"];
        File.WriteAllBytes(bad, [.. "ok"u8, 0xFF]);
        await Fails<InvalidDataException>(() => Prepare(bad, force: true), "bad.txt", "byte 2");
        Assert.False(File.Exists(manifest));
    }

    [Fact]
    public async Task Inspect_finds_a_damaged_shard()
    {
        await Prepare(Text("a.txt", string.Concat(Enumerable.Repeat("some text ", 100))));
        Assert.True((await CorpusInspector.InspectAsync(Out)).Ok);
        var shard = Path.Combine(Out, "train-00000.parquet");
        var bytes = await File.ReadAllBytesAsync(shard);
        bytes[bytes.Length / 2] ^= 0x55;
        await File.WriteAllBytesAsync(shard, bytes);
        var report = await CorpusInspector.InspectAsync(Out);
        Assert.False(report.Ok);
        Assert.Contains("SHA-256", report.Shards.Single(s => s.File == "train-00000.parquet").Problem);
    }

    [Fact]
    public async Task Loader_refuses_a_block_larger_than_the_corpus_and_a_missing_corpus()
    {
        await Prepare(Text("a.txt", string.Concat(Enumerable.Repeat("some text ", 100))));
        var e = Assert.Throws<ArgumentException>(() => Orchestrator.DataPipeline.Loading.TokenLoader.Open(new(Out, "train", 2, 32)));
        Assert.Contains("block size 16", e.Message);
        Assert.Throws<DirectoryNotFoundException>(() => Orchestrator.DataPipeline.Loading.TokenLoader.Open(new(_dir["nothing"], "train", 2, 8)));
        Directory.CreateDirectory(_dir["halfway"]);
        var f = Assert.Throws<FileNotFoundException>(() => Orchestrator.DataPipeline.Loading.TokenLoader.Open(new(_dir["halfway"], "train", 2, 8)));
        Assert.Contains("not a prepared corpus", f.Message);
    }
}
