using System.Text.Json;

namespace Orchestrator.Tests.Worker;

/// <summary>
/// One vocabulary on the command line, as real `orch` processes: renamed flags are refused with their new spelling;
/// `--resume` refuses changed model and run settings, naming each; with `--nproc 2` rank 0 alone prints its progress
/// (every rank with `--all-ranks`) and tokens/step and tok/s are the whole world's, labelled.
/// </summary>
public sealed class VocabularyCommandTests
{
    static readonly string[] Tiny = ["--set", "n_layer=1,n_head=2,n_embd=32,block_size=32", "--batch", "4", "--eval-batches", "1"];

    [Theory]
    [InlineData("--block was renamed --block-size", "train", "--data", "D", "--out", "O", "--block", "16")]
    [InlineData("--block was renamed --block-size", "train", "--data", "D", "--out", "O", "--block=16")]
    [InlineData("--warmup was renamed --warmup-steps", "train", "--data", "D", "--out", "O", "--warmup", "5")]
    [InlineData("--block was renamed --block-size", "bench", "train", "--block", "16")]
    [InlineData("--block was renamed --block-size", "bench", "data", "--data", "D", "--block", "16")]
    [InlineData("--world was renamed --world-size", "bench", "data", "--data", "D", "--world", "2")]
    [InlineData("--warmup was renamed --warmup-iters", "bench", "comm", "--warmup", "3")]
    [InlineData("--block was renamed --block-size", "check", "mup", "--block", "8")]
    public void A_renamed_flag_is_refused_with_its_new_name(string message, params string[] args)
    {
        var r = OrchProcess.Run(args);
        Assert.Equal(2, r.Exit);
        Assert.Equal($"error: {message}", r.Stderr.Trim());
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void Resume_refuses_a_changed_model_or_run_setting_naming_it_and_accepts_a_new_horizon()
    {
        var data = TestData.PatternCorpus();
        var outDir = Path.Combine(TestData.TempDir("resume-check"), "run");
        var first = OrchProcess.Run(["train", "--data", data, "--out", outDir, "--steps", "2", "--json", .. Tiny]);
        Assert.True(first.Exit == 0, first.Stderr);
        var checkpoints = Directory.GetDirectories(outDir).Order().ToArray();

        var layers = OrchProcess.Run("train", "--data", data, "--out", outDir, "--steps", "4", "--resume",
            "--set", "n_layer=2,n_head=2,n_embd=32,block_size=32", "--batch", "4", "--eval-batches", "1");
        Assert.Equal(2, layers.Exit);
        Assert.Equal("error: --resume: the checkpoint was trained with n_layer=1, this run asks n_layer=2 (start a new --out, or drop the change)",
            layers.Stderr.Trim());

        var several = OrchProcess.Run(["train", "--data", data, "--out", outDir, "--steps", "4", "--resume", "--lr", "0.01", "--parametrization", "mup",
            "--base-width", "32", .. Tiny]);
        Assert.Equal(2, several.Exit);
        Assert.Equal("error: --resume: the checkpoint was trained with parametrization=sp, base_width=0, --lr 0.0006, " +
            "this run asks parametrization=mup, base_width=32, --lr 0.01 (start a new --out, or drop the change)", several.Stderr.Trim());
        Assert.Equal(checkpoints, Directory.GetDirectories(outDir).Order().ToArray()); // nothing trained, nothing written

        // The same settings (and a longer horizon, which may change) continue the run.
        var resumed = OrchProcess.Run(["train", "--data", data, "--out", outDir, "--steps", "4", "--resume", "--json", .. Tiny]);
        Assert.True(resumed.Exit == 0, resumed.Stderr);
        Assert.Equal(4, JsonDocument.Parse(resumed.Stdout).RootElement.GetProperty("steps").GetInt64());
    }

    [Fact]
    public void With_nproc_2_rank_0_alone_prints_progress_and_all_ranks_prints_every_ranks()
    {
        var data = TestData.PatternCorpus();
        var run = Path.Combine(TestData.TempDir("ranks"), "run");
        var quiet = OrchProcess.Run(["train", "--data", data, "--out", run, "--steps", "4",
            "--log-every", "2", "--nproc", "2", .. Tiny]);
        Assert.True(quiet.Exit == 0, quiet.Stderr);
        var err = Lines(quiet.Stderr);
        Assert.DoesNotContain(err, l => l.StartsWith("[rank", StringComparison.Ordinal));
        var banner = Assert.Single(err, l => l.StartsWith("model: ", StringComparison.Ordinal));
        Assert.EndsWith("batch 4 x block_size 32 x grad_accum 1 x 2 ranks = 256 tokens/step (global)", banner);
        var progress = err.Where(l => l.StartsWith("step ", StringComparison.Ordinal)).ToList();
        Assert.Equal(["step 2/4", "step 4/4"], progress.Select(l => l.Split(' ')[0] + " " + l.Split(' ')[1]));
        Assert.All(progress, l => Assert.Contains(" tok/s global | ", l));
        var summary = Assert.Single(Lines(quiet.Stdout));
        Assert.Contains(" tokens/s (global)", summary);

        var all = OrchProcess.Run(["train", "--data", data, "--out", Path.Combine(TestData.TempDir("ranks-all"), "run"), "--steps", "4",
            "--log-every", "2", "--nproc", "2", "--all-ranks", .. Tiny]);
        Assert.True(all.Exit == 0, all.Stderr);
        var every = Lines(all.Stderr);
        foreach (var rank in new[] { 0, 1 })
        {
            Assert.Single(every, l => l.StartsWith($"[rank {rank}] model: ", StringComparison.Ordinal));
            Assert.Equal(2, every.Count(l => l.StartsWith($"[rank {rank}] step ", StringComparison.Ordinal)));
        }
        Assert.Single(Lines(all.Stdout)); // the summary is rank 0's stdout

        // Both ranks refuse a changed resume the same way: the error shows once, then the launcher's line.
        var refused = OrchProcess.Run("train", "--data", data, "--out", run, "--steps", "6", "--resume",
            "--nproc", "2", "--set", "n_layer=2", "--eval-batches", "1");
        Assert.Equal(2, refused.Exit);
        var lines = Lines(refused.Stderr);
        Assert.Equal(2, lines.Count);
        Assert.EndsWith("error: --resume: the checkpoint was trained with n_layer=1, this run asks n_layer=2 (start a new --out, or drop the change)",
            Assert.Single(lines, l => l.Contains("--resume:", StringComparison.Ordinal)));
        Assert.Matches(@"^error: rank [01] failed \(exit 2\); the other ranks were stopped$", lines[^1]);
    }

    static List<string> Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
}
