using System.Diagnostics;
using System.Text.Json;
using Orchestrator.DataPipeline.Tokenization;
using Orchestrator.Worker.Checkpoints;

namespace Orchestrator.Tests.Worker;

/// <summary>
/// `orch train` as a real process: a signal ends it after the current step with a checkpoint it resumes from;
/// time-based checkpoints; every check that can be made before training fails at once (exit 2, nothing trained).
/// </summary>
public sealed class StopAndCheckTests
{
    static readonly string[] Tiny = ["--set", "n_layer=1,n_head=2,n_embd=32,block_size=32", "--batch", "4", "--eval-batches", "2", "--log-every", "1"];

    [Theory]
    [InlineData("TERM", 143)]
    [InlineData("INT", 130)]
    public async Task A_signal_finishes_the_step_writes_a_checkpoint_and_the_run_resumes_from_it(string signal, int exitCode)
    {
        var data = TestData.PatternCorpus();
        var outDir = Path.Combine(TestData.TempDir("stop"), "run");
        var (exit, err) = await TrainUntilSignalled(["train", "--data", data, "--out", outDir, "--steps", "100000", .. Tiny], "step 3/", signal,
            TimeSpan.FromMinutes(2), "orch train");
        Assert.True(exit == exitCode, err);
        var line = err.Split('\n').Single(l => l.StartsWith($"stopped by SIG{signal} at step ", StringComparison.Ordinal));
        long step = long.Parse(line.Split(' ')[5].TrimEnd(';'));
        Assert.True(step >= 3, line);
        var store = new CheckpointStore(outDir);
        Assert.Equal(step, store.List().Last().Step);
        Assert.Contains($"checkpoint {Path.Combine(outDir, CheckpointStore.FolderName(step))}; continue with the same command and --resume", line);

        var resumed = OrchProcess.Run(["train", "--data", data, "--out", outDir, "--steps", "100000", "--resume", "--stop-after", "2", "--json", .. Tiny]);
        Assert.True(resumed.Exit == 0, resumed.Stderr);
        Assert.Contains($"resumed from {Path.Combine(outDir, CheckpointStore.FolderName(step))} at step {step}", resumed.Stderr);
        Assert.Equal(step + 2, JsonDocument.Parse(resumed.Stdout).RootElement.GetProperty("steps").GetInt64());
    }

    [Fact]
    public async Task Ranks_forwarded_a_signal_agree_on_one_step_and_checkpoint_it()
    {
        var data = TestData.PatternCorpus();
        var outDir = Path.Combine(TestData.TempDir("stop2"), "run");
        var (exit, err) = await TrainUntilSignalled(["train", "--data", data, "--out", outDir, "--steps", "100000", "--nproc", "2", "--zero", "1", "--all-ranks", .. Tiny],
            "[rank 0] step 3/", "TERM", TimeSpan.FromMinutes(3), "orch train --nproc 2");
        Assert.True(exit == 143, err);
        var lines = err.Split('\n').Where(l => l.Contains("] stopped by SIGTERM at step ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, lines.Count);
        var steps = lines.Select(l => long.Parse(l[(l.IndexOf("at step ", StringComparison.Ordinal) + 8)..].Split(';')[0])).Distinct().ToList();
        Assert.Single(steps);
        Assert.Equal(steps[0], new CheckpointStore(outDir).List().Last().Step);
    }

    // Starts `orch` with args, sends SIG<signal> once a stderr line starts with linePrefix (within waitForLine), and
    // waits (2 minutes at most) for it to exit: its exit code and everything it wrote to stderr.
    static async Task<(int Exit, string Stderr)> TrainUntilSignalled(string[] args, string linePrefix, string signal, TimeSpan waitForLine, string what)
    {
        using var p = Process.Start(OrchProcess.StartInfo(args))!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = new System.Text.StringBuilder();
        var seen = new TaskCompletionSource();
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr) stderr.AppendLine(e.Data);
            if (e.Data.StartsWith(linePrefix, StringComparison.Ordinal)) seen.TrySetResult();
        };
        p.BeginErrorReadLine();
        await seen.Task.WaitAsync(waitForLine);
        using (var kill = Process.Start("kill", $"-{signal} {p.Id}")) await kill.WaitForExitAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(2)), $"{what} did not stop after the signal");
        p.WaitForExit();
        await stdout;
        lock (stderr) return (p.ExitCode, stderr.ToString());
    }

    [Fact]
    public void Checkpoints_are_written_by_training_time_as_well()
    {
        var data = TestData.PatternCorpus();
        var outDir = Path.Combine(TestData.TempDir("minutes"), "run");
        // 0.00001 minutes (0.6 ms): every step is past the interval, so every step writes a checkpoint.
        var r = OrchProcess.Run(["train", "--data", data, "--out", outDir, "--steps", "4", "--checkpoint-minutes", "0.00001", "--keep", "10", .. Tiny]);
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.Equal([1L, 2, 3, 4], new CheckpointStore(outDir).List().Select(c => c.Step));
    }

    [Fact]
    public void A_non_finite_learning_rate_is_refused_before_anything_is_written()
    {
        var data = TestData.PatternCorpus();
        var outDir = Path.Combine(TestData.TempDir("nan"), "run");
        foreach (var lr in new[] { "NaN", "Infinity" })
        {
            var r = OrchProcess.Run(["train", "--data", data, "--out", outDir, "--steps", "3", "--lr", lr, .. Tiny]);
            Assert.Equal(2, r.Exit);
            Assert.Equal($"error: --lr {lr.Replace("Infinity", "∞")}: must be a finite number", r.Stderr.Trim().Split('\n')[^1].Replace("Infinity", "∞"));
            Assert.False(Directory.Exists(outDir));
        }
    }

    [Fact]
    public void An_output_path_that_cannot_be_written_fails_before_the_first_step()
    {
        var data = TestData.PatternCorpus();
        var dir = TestData.TempDir("outfile");
        var file = Path.Combine(dir, "a-file");
        File.WriteAllText(file, "x");
        foreach (var (outDir, problem) in new[]
                 {
                     (file, $"--out '{file}' is a file, not a folder"),
                     (Path.Combine(file, "run"), $"--out '{Path.Combine(file, "run")}' lies under '{file}', which is a file"),
                 })
        {
            var r = OrchProcess.Run(["train", "--data", data, "--out", outDir, "--steps", "3", .. Tiny]);
            Assert.Equal(2, r.Exit);
            Assert.Equal("error: " + problem, r.Stderr.Trim());
        }
        var proc = OrchProcess.Run(["train", "--data", data, "--out", "/proc/orch-cannot-write", "--steps", "3", .. Tiny]);
        Assert.Equal(2, proc.Exit);
        Assert.StartsWith("error: --out '/proc/orch-cannot-write' cannot be written: ", proc.Stderr.Trim());
    }

    [Fact]
    public void A_corpus_without_val_blocks_is_refused_when_evaluation_is_on()
    {
        var data = TestData.PatternCorpus();
        File.Delete(Path.Combine(data, "val.bin"));
        var outDir = Path.Combine(TestData.TempDir("noval"), "run");
        var r = OrchProcess.Run(["train", "--data", data, "--out", outDir, "--steps", "3", .. Tiny]);
        Assert.Equal(2, r.Exit);
        Assert.Equal($"error: --data {data}: the corpus has no val blocks of 32 tokens, and evaluation needs them: prepare it with --val-fraction above 0 (and enough text), or pass --eval-batches 0", r.Stderr.Trim());
        Assert.False(Directory.Exists(outDir));
        var noEval = OrchProcess.Run(["train", "--data", data, "--out", outDir, "--steps", "2", .. Tiny.Select(a => a == "2" ? "0" : a)]);
        Assert.True(noEval.Exit == 0, noEval.Stderr);
    }

    [Fact]
    public void A_damaged_shard_is_detected_when_training_opens_the_corpus()
    {
        var data = PreparedCorpus();
        var shard = Directory.GetFiles(data, "train-*.parquet").Order(StringComparer.Ordinal).First();
        var bytes = File.ReadAllBytes(shard);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(shard, bytes);
        var r = OrchProcess.Run(["train", "--data", data, "--out", Path.Combine(TestData.TempDir("damaged"), "run"), "--steps", "2", .. Tiny]);
        Assert.Equal(2, r.Exit);
        Assert.StartsWith($"error: --data {data}: shard {Path.GetFileName(shard)} is damaged (SHA-256 ", r.Stderr.Trim());
    }

    /// <summary>A small prepared (Parquet) corpus of generated text, bytes tokenizer, block 32.</summary>
    static string PreparedCorpus()
    {
        var dir = TestData.TempDir("prepared");
        var tokenizer = Orchestrator.DataPipeline.Tokenization.BytesTokenizer.Instance;
        var writer = new Orchestrator.DataPipeline.Corpus.CorpusWriter(dir, tokenizer, new(BlockSize: 32, ValFraction: 0.1));
        try
        {
            var rng = new Random(5);
            for (int d = 0; d < 20; d++)
            {
                var words = Enumerable.Range(0, 200).Select(_ => new string((char)('a' + rng.Next(26)), 1 + rng.Next(6)));
                writer.AddDocumentAsync(tokenizer.Encode(string.Join(' ', words))).GetAwaiter().GetResult();
            }
            writer.CompleteAsync([new Orchestrator.DataPipeline.Corpus.SourceInfo("generated", "text", 20, 0)], 0).GetAwaiter().GetResult();
        }
        finally
        {
            writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        return dir;
    }

    [Fact]
    public void Ranks_per_host_are_limited_before_any_process_starts()
    {
        var r = OrchProcess.Run("train", "--data", TestData.PatternCorpus(), "--out", TestData.TempDir("nproc"), "--nproc", "100000");
        Assert.Equal(2, r.Exit);
        int max = Math.Max(8, Environment.ProcessorCount);
        Assert.Equal($"error: --nproc 100000: at most {max} ranks on this host (its {Environment.ProcessorCount} cores, at least 8)", r.Stderr.Trim());
    }
}
