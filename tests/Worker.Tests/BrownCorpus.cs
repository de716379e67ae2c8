using System.Text;
using Orchestrator.DataPipeline.Corpus;
using Orchestrator.DataPipeline.Tokenization;

namespace Orchestrator.Tests.Worker;

/// <summary>
/// The Brown corpus (scripts/fetch-brown.sh puts it in .data/brown/raw), tags stripped ("The/at" -> "The"),
/// prepared with the bytes tokenizer through the DataPipeline's CorpusWriter.
/// </summary>
static class BrownCorpus
{
    public static string RawDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var raw = Path.Combine(dir.FullName, ".data", "brown", "raw");
            if (File.Exists(Path.Combine(raw, "ca01"))) return raw;
            if (File.Exists(Path.Combine(dir.FullName, "Orchestrator.sln")))
                throw new InvalidOperationException($"the Brown corpus is missing: run {dir.FullName}/scripts/fetch-brown.sh (test.sh does)");
        }
        throw new InvalidOperationException("could not find the repository root above " + AppContext.BaseDirectory);
    }

    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Orchestrator.sln"))) return dir.FullName;
        throw new InvalidOperationException("could not find the repository root above " + AppContext.BaseDirectory);
    }

    public static string StripTags(string tagged)
    {
        var sb = new StringBuilder();
        foreach (var line in tagged.Split('\n'))
        {
            var words = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)
                .Select(w => w.LastIndexOf('/') is var i and > 0 ? w[..i] : w);
            var text = string.Join(' ', words);
            if (text.Length > 0) sb.Append(text).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>Prepares the first <paramref name="files"/> Brown files into a corpus folder; returns it.</summary>
    public static string Prepare(int files, int blockSize)
    {
        var raw = RawDir();
        var names = Directory.GetFiles(raw).Where(f => Path.GetFileName(f) is var n && n.Length == 4 && char.IsAsciiDigit(n[2]))
            .Order(StringComparer.Ordinal).Take(files).ToList();
        var dir = TestData.TempDir("brown");
        var tokenizer = BytesTokenizer.Instance;
        var writer = new CorpusWriter(dir, tokenizer, new CorpusWriterOptions(BlockSize: blockSize, ValFraction: 0.1));
        try
        {
            foreach (var f in names) writer.AddDocumentAsync(tokenizer.Encode(StripTags(File.ReadAllText(f)))).GetAwaiter().GetResult();
            writer.CompleteAsync([new SourceInfo(raw, "brown", names.Count, 0)], 0).GetAwaiter().GetResult();
        }
        finally
        {
            writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        return dir;
    }
}
