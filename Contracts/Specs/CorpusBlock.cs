using System.Text.Json;

namespace Orchestrator.Contracts.Specs;

/// <summary>
/// The sequence length a prepared corpus stores (manifest.json's <c>block_size</c>), read where a spec is checked:
/// a model whose block is longer than the corpus' cannot train on it, and is refused the way `orch train --block-size`
/// refuses it instead of silently training shorter sequences. Null when the folder is not reachable from here or
/// holds a nanoGPT .bin corpus (any window length works).
/// </summary>
public static class CorpusBlock
{
    public static int? TryRead(string dataDir)
    {
        if (string.IsNullOrWhiteSpace(dataDir)) return null;
        try
        {
            var path = Path.Combine(dataDir, "manifest.json");
            if (!File.Exists(path)) return null;
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return doc.RootElement.TryGetProperty("block_size", out var v) && v.TryGetInt32(out var n) && n > 0 ? n : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException) { return null; }
    }

    /// <summary>The problem, naming <paramref name="key"/>, when <paramref name="block"/> is longer than the corpus' block; else null.</summary>
    public static string? Problem(string dataDir, int block, string key) =>
        TryRead(dataDir) is int cb && block > cb
            ? $"{key}: {block} is larger than the corpus' block size {cb} ({dataDir}); use {BareKey(key)}: {cb} or less, or prepare the corpus with --block-size {block}"
            : null;

    static string BareKey(string key) => key.Contains('.') ? key[(key.LastIndexOf('.') + 1)..] : key;
}
