using System.Security.Cryptography;
using Orchestrator.DataPipeline.Corpus;
using Orchestrator.DataPipeline.Prepare;
using Orchestrator.DataPipeline.Loading;
using Orchestrator.Tests.DataPipeline.Support;

namespace Orchestrator.Tests.DataPipeline.Prepare;

/// <summary>
/// The corpus manifest carries its own SHA-256 (manifest.sha256), as a checkpoint's does: it lists every shard's
/// checksum, and a digit changed in it (a block count, the block size) would otherwise cut every block at the wrong place
/// without any error. Version 1 corpora, prepared before the sidecar, still read.
/// </summary>
public sealed class ManifestChecksumTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    string Out => _dir["out"];
    string ManifestPath => Path.Combine(Out, CorpusManifest.FileName);
    string ChecksumPath => Path.Combine(Out, CorpusManifest.ChecksumFileName);

    async Task PrepareAsync()
    {
        var input = _dir["a.txt"];
        File.WriteAllText(input, string.Concat(Enumerable.Repeat("the manifest vouches for every shard ", 40)));
        await CorpusPreparer.PrepareAsync(new PrepareOptions { Inputs = [input], OutDir = Out, Tokenizer = "bytes", BlockSize = 16, RowGroupTokens = 17 * 4 });
    }

    [Fact]
    public async Task A_prepared_corpus_has_the_manifests_SHA256_beside_it()
    {
        await PrepareAsync();
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(ManifestPath))) + "\n", File.ReadAllText(ChecksumPath));
        Assert.Equal(CorpusManifest.CurrentVersion, CorpusManifest.Read(Out).FormatVersion);
    }

    [Fact]
    public async Task A_changed_digit_in_the_manifest_is_refused_before_any_shard_is_read()
    {
        await PrepareAsync();
        var text = File.ReadAllText(ManifestPath);
        Assert.Contains("\"block_size\": 16,", text);
        File.WriteAllText(ManifestPath, text.Replace("\"block_size\": 16,", "\"block_size\": 18,")); // still valid JSON
        var e = Assert.Throws<InvalidDataException>(() => CorpusManifest.Read(Out));
        Assert.Equal($"'{ManifestPath}' fails its SHA-256 check against manifest.sha256 (damaged): prepare the corpus again", e.Message);
        // The check before training (once per process and corpus) says the same.
        Assert.Equal(e.Message, Assert.Throws<InvalidDataException>(() => CorpusSources.VerifyChecksums(Out)).Message);
    }

    [Fact]
    public async Task A_version_2_manifest_without_its_checksum_is_refused()
    {
        await PrepareAsync();
        File.Delete(ChecksumPath);
        var e = Assert.Throws<InvalidDataException>(() => CorpusManifest.Read(Out));
        Assert.Equal($"'{ManifestPath}' has no manifest.sha256 beside it (a damaged corpus): prepare the corpus again", e.Message);
    }

    [Fact]
    public async Task A_version_1_corpus_without_a_checksum_still_reads_and_its_shards_verify()
    {
        await PrepareAsync();
        File.Delete(ChecksumPath);
        var text = File.ReadAllText(ManifestPath);
        Assert.Contains("\"format_version\": 2,", text);
        File.WriteAllText(ManifestPath, text.Replace("\"format_version\": 2,", "\"format_version\": 1,"));
        Assert.Equal(1, CorpusManifest.Read(Out).FormatVersion);
        CorpusSources.VerifyChecksums(Out); // every shard still checks against the manifest
    }

    [Fact]
    public async Task Force_replaces_the_checksum_with_the_new_manifests()
    {
        await PrepareAsync();
        var input = _dir["b.txt"];
        File.WriteAllText(input, "a second, shorter corpus of other text");
        await CorpusPreparer.PrepareAsync(new PrepareOptions { Inputs = [input], OutDir = Out, Tokenizer = "bytes", BlockSize = 16, Force = true });
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(ManifestPath))) + "\n", File.ReadAllText(ChecksumPath));
        Assert.Empty(Directory.GetFiles(Out, "*.tmp"));
    }
}
