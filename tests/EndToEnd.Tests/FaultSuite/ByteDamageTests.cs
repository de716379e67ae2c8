using System.Diagnostics;
using Orchestrator.DataPipeline.Corpus;
using Orchestrator.DataPipeline.Loading;
using Orchestrator.Sharding.Checkpointing;
using Xunit.Abstractions;

namespace Orchestrator.Tests.EndToEnd.FaultSuite;

/// <summary>
/// Seeded random byte damage, one fault at a time on real files, through the detection paths training uses:
/// a bit flipped at a random offset of a random file a checkpoint's manifest lists (or the file cut short) makes
/// the checkpoint invalid, and the newest valid one is resumed from (<see cref="CheckpointFolders.FindNewestValid"/>,
/// the rule of `orch train --resume` and of every cluster epoch); the same damage to a corpus shard is refused with
/// the shard named (<see cref="CorpusSources.VerifyChecksums"/>, the check before `orch train`'s first step).
/// Each fault is undone before the next, so every trial sees exactly one damaged file.
/// Each manifest.json (the checkpoint's and the corpus'), the root the checksums hang from, is among the files drawn:
/// its own SHA-256 (manifest.sha256) catches any damage to it, a cut included.
/// </summary>
public sealed class ByteDamageTests(ITestOutputHelper output)
{
    const int Trials = 8, Every = 10, Steps = 40, TokensPerStep = 4 * 32;

    [Fact]
    public async Task Random_byte_damage_to_checkpoints_and_corpus_shards_is_always_detected()
    {
        var plan = FaultPlan.FromEnvironment();
        output.WriteLine($"fault seed {plan.Seed} (ORCH_FAULT_SEED overrides)");
        var dir = Directory.CreateTempSubdirectory("orch-faults-bytes-");
        string[] words = ["one", "flipped", "bit", "anywhere", "in", "a", "shard", "is", "found", "before", "it", "is", "trusted"];
        var corpus = await WordCorpus.PrepareAsync(dir.FullName, 13, words, 8_000, 10, 32);
        string run = Path.Combine(dir.FullName, "run");
        var train = await OrchProcess.RunAsync(["train", "--data", corpus, "--out", run, "--set", "n_layer=1,n_head=2,n_embd=32,block_size=32",
            "--batch", "4", "--steps", $"{Steps}", "--checkpoint-every", $"{Every}", "--keep", "4", "--eval-batches", "0"]);
        Assert.True(train.Exit == 0, train.Stderr);
        var checkpoints = CheckpointFolders.List(run).Select(c => c.Path).ToList();
        Assert.Equal(Steps / Every, checkpoints.Count);
        Assert.Equal(checkpoints[^1], CheckpointFolders.FindNewestValid(run));

        var rng = plan.For("byte-damage-checkpoint");
        for (int t = 0; t < Trials; t++)
        {
            int c = rng.Next(checkpoints.Count);
            var m = CheckpointManifest.Read(checkpoints[c]);
            var files = m.Shards.Select(s => s.File).Concat(m.Files.Select(f => f.Name)).Append(CheckpointManifest.FileName).ToList();
            string file = Path.Combine(checkpoints[c], files[rng.Next(files.Count)]);
            bool cut = t % 4 == 3; // every fourth trial cuts the file short instead of flipping a bit
            var (what, undo) = Damage(file, rng, cut);
            try
            {
                var sw = Stopwatch.StartNew();
                var warnings = new List<string>();
                string? newest = CheckpointFolders.FindNewestValid(run, warnings.Add);
                double detected = sw.Elapsed.TotalSeconds;
                // Damage to the newest checkpoint falls back to the one before; to an older one changes nothing.
                Assert.Equal(c == checkpoints.Count - 1 ? checkpoints[^2] : checkpoints[^1], newest);
                var e = Assert.Throws<InvalidDataException>(() => ShardedCheckpoint.Verify(checkpoints[c]));
                Assert.Contains(file, e.Message);
                Assert.Contains(cut && !file.EndsWith(CheckpointManifest.FileName, StringComparison.Ordinal) ? "(truncated?)" : "fails its SHA-256 check", e.Message);
                if (c == checkpoints.Count - 1) Assert.Contains(file, Assert.Single(warnings));
                long lost = c == checkpoints.Count - 1 ? (long)Every * TokensPerStep : 0;
                FaultReport.Add(output, plan.Seed, $"checkpoint {what}", Path.GetRelativePath(run, file), $"{m.Step}", detected, lost);
            }
            finally { undo(); }
        }
        Assert.Equal(checkpoints[^1], CheckpointFolders.FindNewestValid(run));

        string corpusManifest = Path.Combine(corpus, CorpusManifest.FileName);
        var corpusFiles = Directory.GetFiles(corpus, "*.parquet").Order(StringComparer.Ordinal).Append(corpusManifest).ToList();
        rng = plan.For("byte-damage-corpus");
        for (int t = 0; t < Trials; t++)
        {
            string file = corpusFiles[rng.Next(corpusFiles.Count)];
            bool cut = t % 4 == 3;
            var (what, undo) = Damage(file, rng, cut);
            try
            {
                var sw = Stopwatch.StartNew();
                var e = Assert.Throws<InvalidDataException>(() => CorpusSources.VerifyChecksums(corpus));
                double detected = sw.Elapsed.TotalSeconds;
                if (file == corpusManifest)
                    Assert.Equal($"'{corpusManifest}' fails its SHA-256 check against {CorpusManifest.ChecksumFileName} (damaged): prepare the corpus again", e.Message);
                else
                    Assert.StartsWith($"--data {corpus}: shard {Path.GetFileName(file)} is damaged (", e.Message);
                FaultReport.Add(output, plan.Seed, $"corpus {what}", Path.GetFileName(file), "-", detected, 0);
            }
            finally { undo(); }
        }
        var clean = await OrchProcess.RunAsync("data", "inspect", corpus);
        Assert.True(clean.Exit == 0, clean.Stdout + clean.Stderr);
        dir.Delete(true);
    }

    /// <summary>Flips one random bit of one random byte (or cuts the file at a random length); returns what it did and how to undo it.</summary>
    static (string What, Action Undo) Damage(string file, Random rng, bool cut)
    {
        var bytes = File.ReadAllBytes(file);
        if (cut)
        {
            int keep = rng.Next(bytes.Length);
            File.WriteAllBytes(file, bytes[..keep]);
            return ($"cut to {keep} of {bytes.Length} bytes", () => File.WriteAllBytes(file, bytes));
        }
        int offset = rng.Next(bytes.Length), bit = rng.Next(8);
        var damaged = (byte[])bytes.Clone();
        damaged[offset] ^= (byte)(1 << bit);
        File.WriteAllBytes(file, damaged);
        return ($"bit {bit} of byte {offset} of {bytes.Length} flipped", () => File.WriteAllBytes(file, bytes));
    }
}
