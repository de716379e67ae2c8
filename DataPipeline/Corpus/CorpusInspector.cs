using System.Security.Cryptography;
using Parquet;

namespace Orchestrator.DataPipeline.Corpus;

/// <summary>`orch data inspect`: the manifest plus a check of every shard (exists, size, SHA-256, row groups, tokens).</summary>
public static class CorpusInspector
{
    public sealed record ShardCheck(string Split, string File, long Blocks, int RowGroups, long Bytes, string Sha256, bool Ok, string? Problem);

    public sealed record Report(CorpusManifest Manifest, IReadOnlyList<ShardCheck> Shards, bool Ok)
    {
        public int ShardCount => Shards.Count;
    }

    public static async Task<Report> InspectAsync(string dir, CancellationToken ct = default)
    {
        var m = CorpusManifest.Read(dir);
        var checks = new List<ShardCheck>();
        foreach (var (name, split) in new[] { ("train", m.Train), ("val", m.Val) })
            foreach (var s in split.Shards)
            {
                var problem = await CheckAsync(dir, m, s, ct);
                checks.Add(new ShardCheck(name, s.File, s.Blocks, s.RowGroups, s.Bytes, s.Sha256, problem is null, problem));
            }
        return new Report(m, checks, checks.All(c => c.Ok));
    }

    static async Task<string?> CheckAsync(string dir, CorpusManifest m, ShardInfo s, CancellationToken ct)
    {
        var path = Path.Combine(dir, s.File);
        if (!File.Exists(path)) return "missing";
        await using var stream = File.OpenRead(path);
        if (stream.Length != s.Bytes) return $"size {stream.Length} bytes, manifest says {s.Bytes}";
        var sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
        if (sha != s.Sha256) return $"SHA-256 {sha[..12]}... does not match the manifest's {s.Sha256[..12]}...";
        stream.Position = 0;
        try
        {
            await using var reader = await ParquetReader.CreateAsync(stream, ParquetSettings.Reading(), cancellationToken: ct);
            if (reader.RowGroupCount != s.RowGroups) return $"{reader.RowGroupCount} row groups, manifest says {s.RowGroups}";
            long values = 0;
            for (int i = 0; i < reader.RowGroupCount; i++) values += reader.RowGroups[i].RowCount;
            if (values != s.Blocks * (m.BlockSize + 1)) return $"{values} tokens, manifest says {s.Blocks} blocks of {m.BlockSize + 1}";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return $"not readable as Parquet: {e.Message}";
        }
        return null;
    }
}
