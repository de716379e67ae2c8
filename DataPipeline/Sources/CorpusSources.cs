using System.Text.Json;
using Orchestrator.DataPipeline.Corpus;

namespace Orchestrator.DataPipeline.Loading;

/// <summary>
/// Opens the batch stream of a corpus folder. Understands nanoGPT's format (train.bin / val.bin of uint16 tokens,
/// optional meta.json {"vocab_size": N}) and, first of all, a prepared corpus (manifest.json from
/// `orch data prepare`) through the DataPipeline's <see cref="TokenLoader"/>. Bad input throws with the fix.
/// </summary>
public static class CorpusSources
{
    public static IBatchSource Open(LoaderOptions o)
    {
        if (!Directory.Exists(o.CorpusDir))
            throw new DirectoryNotFoundException($"--data {o.CorpusDir}: no such folder; run 'orch data prepare --input ... --out {o.CorpusDir}' first");
        if (File.Exists(Path.Combine(o.CorpusDir, CorpusManifest.FileName))) return TokenLoader.Open(o);
        var bin = Path.Combine(o.CorpusDir, o.Split + ".bin");
        if (File.Exists(bin))
        {
            var tokens = ReadUInt16Tokens(bin);
            return new TokenArrayBatchSource(tokens, VocabSize(o.CorpusDir), o.BatchSize, o.BlockSize, o.Seed, o.Resume, o.Rank, o.WorldSize);
        }
        throw new InvalidDataException(
            $"--data {o.CorpusDir}: not a prepared corpus (no {CorpusManifest.FileName}); prepare one with 'orch data prepare --input ... --out {o.CorpusDir}'");
    }

    /// <summary>The vocabulary size declared by a corpus folder.</summary>
    public static int VocabSize(string dir)
    {
        if (File.Exists(Path.Combine(dir, CorpusManifest.FileName))) return CorpusManifest.Read(dir).VocabSize;
        var meta = Path.Combine(dir, "meta.json");
        if (!File.Exists(meta)) return 50257; // nanoGPT's GPT-2 default
        using var doc = JsonDocument.Parse(File.ReadAllBytes(meta));
        return doc.RootElement.TryGetProperty("vocab_size", out var v) ? v.GetInt32()
            : throw new InvalidDataException($"{meta}: no vocab_size field");
    }

    /// <summary>The corpus' stored sequence length (prepared corpora), or null when any window length works (.bin).</summary>
    public static int? BlockSize(string dir)
    {
        if (!Directory.Exists(dir))
            throw new DirectoryNotFoundException($"--data {dir}: no such folder; run 'orch data prepare --input ... --out {dir}' first");
        if (File.Exists(Path.Combine(dir, CorpusManifest.FileName))) return CorpusManifest.Read(dir).BlockSize;
        if (File.Exists(Path.Combine(dir, "train.bin"))) return null;
        throw new InvalidDataException($"--data {dir}: not a prepared corpus (no {CorpusManifest.FileName}); prepare one with 'orch data prepare --input ... --out {dir}'");
    }

    /// <summary>
    /// Throws (bad input) unless <paramref name="split"/> holds at least one block of <paramref name="blockSize"/>
    /// tokens; checked before training, so a corpus without val blocks fails at start, not after the last step.
    /// </summary>
    public static void RequireBlocks(string dir, string split, int blockSize, string why)
    {
        if (File.Exists(Path.Combine(dir, CorpusManifest.FileName)))
        {
            if (CorpusManifest.Read(dir).Split(split).Blocks > 0) return;
        }
        else
        {
            var bin = Path.Combine(dir, split + ".bin");
            if (File.Exists(bin) && new FileInfo(bin).Length / 2 > blockSize) return;
        }
        throw new InvalidDataException($"--data {dir}: the corpus has no {split} blocks of {blockSize} tokens, and {why}");
    }

    static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> Verified = new();

    /// <summary>
    /// Checks every shard of a prepared corpus against its manifest (size, SHA-256, row groups) once per process
    /// and corpus, streaming each file; throws (bad input) naming the first damaged shard. A .bin corpus has no
    /// checksums and passes.
    /// </summary>
    public static void VerifyChecksums(string dir)
    {
        var manifest = Path.Combine(dir, CorpusManifest.FileName);
        if (!File.Exists(manifest)) return;
        var key = Path.GetFullPath(dir) + "@" + File.GetLastWriteTimeUtc(manifest).Ticks;
        if (Verified.ContainsKey(key)) return;
        var report = CorpusInspector.InspectAsync(dir).GetAwaiter().GetResult();
        if (report.Shards.FirstOrDefault(s => !s.Ok) is { } bad)
            throw new InvalidDataException($"--data {dir}: shard {bad.File} is damaged ({bad.Problem}); prepare the corpus again (orch data inspect {dir} lists every shard)");
        Verified[key] = true;
    }

    static int[] ReadUInt16Tokens(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length % 2 != 0) throw new InvalidDataException($"{path}: odd length; expected uint16 tokens");
        var tokens = new int[bytes.Length / 2];
        for (int i = 0; i < tokens.Length; i++) tokens[i] = bytes[2 * i] | (bytes[2 * i + 1] << 8);
        return tokens;
    }

    /// <summary>Writes a nanoGPT-format corpus (for tests and tools): SPLIT.bin as uint16 plus meta.json.</summary>
    public static void WriteBin(string dir, string split, ReadOnlySpan<int> tokens, int vocabSize)
    {
        Directory.CreateDirectory(dir);
        var bytes = new byte[tokens.Length * 2];
        for (int i = 0; i < tokens.Length; i++) { bytes[2 * i] = (byte)tokens[i]; bytes[2 * i + 1] = (byte)(tokens[i] >> 8); }
        File.WriteAllBytes(Path.Combine(dir, split + ".bin"), bytes);
        File.WriteAllText(Path.Combine(dir, "meta.json"), $"{{\"vocab_size\": {vocabSize}}}");
    }
}
