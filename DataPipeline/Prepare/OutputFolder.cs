using Orchestrator.DataPipeline.Corpus;

namespace Orchestrator.DataPipeline.Prepare;

/// <summary>
/// The output folder rules: a folder that holds a corpus (a manifest or shards, even half-written ones) is
/// refused unless --force; with --force the manifest is removed first, so the folder never looks complete
/// while old and new shards mix, then the old shards.
/// </summary>
static class OutputFolder
{
    public const string TokenizerFile = "tokenizer.json";

    public static bool Prepare(string dir, bool force)
    {
        if (File.Exists(dir)) throw new ArgumentException($"--out '{dir}' is a file, not a folder");
        bool existed = Directory.Exists(dir);
        if (existed)
        {
            var ours = OurFiles(dir).ToList();
            if (ours.Count > 0 && !force)
                throw new ArgumentException($"--out '{dir}' already holds a corpus ({Path.GetFileName(ours[0])}): choose another folder or pass --force to replace it");
            var manifest = Path.Combine(dir, CorpusManifest.FileName);
            if (File.Exists(manifest)) File.Delete(manifest);
            foreach (var f in OurFiles(dir)) File.Delete(f);
        }
        Directory.CreateDirectory(dir);
        return !existed;
    }

    static IEnumerable<string> OurFiles(string dir) =>
        Directory.EnumerateFiles(dir).Where(f =>
        {
            var n = Path.GetFileName(f);
            return n.StartsWith(CorpusManifest.FileName, StringComparison.Ordinal) || n.StartsWith(CorpusManifest.ChecksumFileName, StringComparison.Ordinal)
                || n == TokenizerFile || n == TokenizerFile + ".tmp"
                || ((n.StartsWith("train-", StringComparison.Ordinal) || n.StartsWith("val-", StringComparison.Ordinal))
                    && (n.EndsWith(".parquet", StringComparison.Ordinal) || n.EndsWith(".parquet.tmp", StringComparison.Ordinal)));
        }).Order(StringComparer.Ordinal);
}
