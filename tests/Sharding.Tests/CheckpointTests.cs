using Orchestrator.Sharding.Checkpointing;
using Orchestrator.Sharding.Engine;
using Orchestrator.Sharding.RankHost;
using Orchestrator.Tests.Sharding.Support;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Sharding;

/// <summary>Sharded checkpoint integrity: atomic files, checksums, no overwrite, a corrupt one skipped for the previous one.</summary>
public sealed class CheckpointTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("orch-ckpt-unit-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    string StepDir(long step) => Path.Combine(_root, CheckpointFolders.Name(step));

    void SaveTwo(int world, int zero) => RingWorld.Run(world, comm =>
    {
        using var t = new StepEngine(TinyGpt.Build(5), comm, new EngineOptions(zero));
        for (var step = 1; step <= 2; step++)
        {
            using (var scope = NewDisposeScope())
            {
                var (x, y) = TinyGpt.GlobalBatch(5, step, 4 * world);
                t.Step([(x.narrow(0, comm.Rank * 4, 4), y.narrow(0, comm.Rank * 4, 4))], 0.01);
            }
            ShardedCheckpoint.Save(_root, t, step, new Dictionary<string, string> { ["model"] = "tiny", ["cursor"] = $"cursor-{step}" });
        }
        return 0;
    });

    [Fact]
    public void A_saved_checkpoint_has_a_manifest_with_the_global_layout_and_no_temp_files()
    {
        SaveTwo(world: 3, zero: 2);
        var dir = StepDir(2);
        var m = CheckpointManifest.Read(dir);
        Assert.Equal((2L, 3, 2, "cursor-2"), (m.Step, m.WorldSize, m.Zero, m.Metadata["cursor"]));
        Assert.Equal<string>(["master", "exp_avg", "exp_avg_sq"], m.Buffers);
        Assert.Equal(m.TotalElements, m.Shards.Sum(s => s.Elements));               // every element saved exactly once
        Assert.Equal(m.TotalElements, m.Parameters.Sum(p => p.Shape.Aggregate(1L, (a, b) => a * b)));
        Assert.Equal("embedding.wpe", m.Parameters[0].Name); // TorchSharp lists a module's own parameters before its submodules'
        Assert.Contains(m.Parameters, p => p.Name == "head.lm_head.weight" && p.Shape.SequenceEqual(new long[] { TinyGpt.Vocab, TinyGpt.Embd }));
        Assert.Equal<string>(["manifest.json", "manifest.sha256", "shard-00000-of-00003.bin", "shard-00001-of-00003.bin", "shard-00002-of-00003.bin"],
            Directory.GetFiles(dir).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(dir, CheckpointFolders.FindNewestValid(_root));
        Assert.Empty(Directory.GetDirectories(_root, ".tmp-*"));
    }

    [Fact]
    public void A_corrupt_shard_is_detected_and_the_previous_checkpoint_is_used()
    {
        SaveTwo(world: 2, zero: 1);
        var newest = StepDir(2);
        var shard = Path.Combine(newest, "shard-00001-of-00002.bin");
        var bytes = File.ReadAllBytes(shard);
        bytes[100] ^= 0xFF;
        File.WriteAllBytes(shard, bytes);
        var skipped = new List<string>();
        Assert.Equal(StepDir(1), CheckpointFolders.FindNewestValid(_root, skipped.Add));
        Assert.Contains("shard-00001-of-00002.bin fails its SHA-256 check", Assert.Single(skipped));
        var e = Assert.Throws<AggregateException>(() => RingWorld.Run(1, comm =>
        {
            using var t = new StepEngine(TinyGpt.Build(5), comm, new EngineOptions(0));
            return ShardedCheckpoint.Load(newest, t);
        }));
        Assert.IsType<InvalidDataException>(e.InnerExceptions.Single());
    }

    [Fact]
    public void Damage_to_the_manifest_itself_is_detected_and_a_version_2_manifest_still_reads()
    {
        SaveTwo(world: 2, zero: 1);
        var newest = StepDir(2);
        var manifest = Path.Combine(newest, CheckpointManifest.FileName);
        var sidecar = Path.Combine(newest, CheckpointManifest.ChecksumFileName);
        var original = File.ReadAllBytes(manifest);
        // One digit of a parameter's offset: still valid JSON with the same sizes and hashes listed, so only the
        // manifest's own checksum can tell.
        var text = System.Text.Encoding.UTF8.GetString(original);
        int at = text.IndexOf("\"offset\": ", text.IndexOf("\"offset\": ", StringComparison.Ordinal) + 1, StringComparison.Ordinal) + "\"offset\": ".Length;
        var damaged = (byte[])original.Clone();
        damaged[at] = (byte)(damaged[at] == (byte)'9' ? '8' : damaged[at] + 1);
        File.WriteAllBytes(manifest, damaged);
        var skipped = new List<string>();
        Assert.Equal(StepDir(1), CheckpointFolders.FindNewestValid(_root, skipped.Add));
        Assert.Equal($"skipping checkpoint {newest}: {manifest} fails its SHA-256 check against manifest.sha256 (corrupt)", Assert.Single(skipped));

        File.WriteAllBytes(manifest, original);
        File.Delete(sidecar);
        var e = Assert.Throws<InvalidDataException>(() => ShardedCheckpoint.Verify(newest));
        Assert.Equal($"{manifest} has no manifest.sha256 beside it (an incomplete or damaged checkpoint)", e.Message);

        // A checkpoint written before the manifest had a checksum (version 2, no sidecar) still verifies and loads.
        File.WriteAllText(manifest, text.Replace("\"version\": 3,", "\"version\": 2,", StringComparison.Ordinal));
        Assert.Equal(2, ShardedCheckpoint.Verify(newest).Version);
        Assert.Equal(newest, CheckpointFolders.FindNewestValid(_root));
    }

    [Fact]
    public void A_checkpoint_without_its_manifest_does_not_count_and_an_existing_one_is_never_overwritten()
    {
        SaveTwo(world: 1, zero: 0);
        File.Delete(Path.Combine(StepDir(2), "manifest.json")); // as if rank 0 died before committing
        Assert.Equal(StepDir(1), CheckpointFolders.FindNewestValid(_root));
        var e = Assert.Throws<AggregateException>(() => RingWorld.Run(1, comm =>
        {
            using var t = new StepEngine(TinyGpt.Build(5), comm, new EngineOptions(0));
            return ShardedCheckpoint.Save(_root, t, 1);
        }));
        Assert.Contains("refusing to overwrite", e.InnerExceptions.Single().Message);
    }

    [Fact]
    public void Loading_into_a_different_model_names_the_first_mismatch()
    {
        SaveTwo(world: 1, zero: 0);
        var e = Assert.Throws<AggregateException>(() => RingWorld.Run(1, comm =>
        {
            using var t = new StepEngine(TinyGpt.Build(5, blocks: 3), comm, new EngineOptions(0));
            return ShardedCheckpoint.Load(StepDir(2), t);
        }));
        Assert.Contains("saved from a different model", e.InnerExceptions.Single().Message);
    }
}
