using Orchestrator.Tests.Sharding.Support;

namespace Orchestrator.Tests.Sharding;

/// <summary>
/// DDP and ZeRO against single-process training, in real rank processes over the TCP ring. The model is
/// tests/Sharding.RankHost's TinyGpt; every run sees the same global batch of 12 sequences per step (split over
/// ranks and, with --accum, micro-steps), so the losses must agree within fp32 reduction-order noise.
/// </summary>
public sealed class ParallelTrainingTests
{
    const float Tolerance = 2e-5f;

    static SortedDictionary<int, float> Train(int world, params string[] extra)
    {
        var o = Ranks.Run(world, ["train", "--steps", "20", "--batch", "12", .. extra]);
        o.EnsureSucceeded();
        // ZeRO-3 says which pass it ran: storage freed in place unless recompute was asked for (never a silent fallback).
        var zero = Array.IndexOf(extra, "--zero");
        if (zero >= 0 && extra[zero + 1] == "3")
            Assert.Contains(extra.Contains("recompute") ? "zero3 recomputes: recompute requested" : "zero3 frees storage", o.Stdout[0]);
        return o.Losses();
    }

    static void AssertFollows(SortedDictionary<int, float> expected, SortedDictionary<int, float> actual)
    {
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (step, loss) in expected)
            Assert.True(Math.Abs(loss - actual[step]) <= Tolerance, $"step {step}: expected loss {loss}, got {actual[step]}");
    }

    [Fact]
    public void Ddp_and_zero_1_2_3_at_world_2_follow_single_process_training_over_20_steps()
    {
        var single = Train(1, "--accum", "2");
        Assert.Equal(20, single.Count);
        Assert.True(single[20] < single[1] - 0.5f, $"the model should learn: loss {single[1]} -> {single[20]}");
        foreach (var zero in new[] { "0", "1", "2", "3" })
            AssertFollows(single, Train(2, "--accum", "2", "--zero", zero));
        AssertFollows(single, Train(2, "--accum", "2", "--zero", "3", "--zero3", "recompute"));
    }

    [Fact]
    public void Zero_3_with_a_tied_head_follows_single_process_training()
    {
        // The head reuses the embedding's weight: ZeRO-3 keeps the embedding gathered for the head and sums both gradients.
        var single = Train(1, "--accum", "2", "--tied", "true");
        AssertFollows(single, Train(2, "--accum", "2", "--tied", "true", "--zero", "3"));
        AssertFollows(single, Train(2, "--accum", "2", "--tied", "true", "--zero", "3", "--zero3", "recompute"));
        AssertFollows(single, Train(2, "--accum", "2", "--tied", "true", "--zero", "1"));
    }

    [Fact]
    public void Save_at_world_4_resumes_at_worlds_2_and_3_on_the_uninterrupted_curve()
    {
        var root = Directory.CreateTempSubdirectory("orch-ckpt-").FullName;
        try
        {
            var full = Train(4, "--zero", "1", "--save-at", "10", "--checkpoint-dir", root);
            var ckpt = Path.Combine(root, "ckpt-000010");
            Assert.True(File.Exists(Path.Combine(ckpt, "manifest.json")));
            Assert.Equal(4, Directory.GetFiles(ckpt, "shard-*-of-00004.bin").Length);
            var tail = new SortedDictionary<int, float>(full.Where(kv => kv.Key > 10).ToDictionary());
            // Different world sizes and ZeRO stages read the same checkpoint: resharding both ways.
            AssertFollows(tail, Train(2, "--zero", "2", "--resume", ckpt));
            AssertFollows(tail, Train(3, "--zero", "3", "--resume", ckpt));
            AssertFollows(tail, Train(1, "--zero", "0", "--resume", ckpt));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Save_at_world_2_with_zero_3_resumes_at_worlds_1_and_3_on_the_uninterrupted_curve()
    {
        var root = Directory.CreateTempSubdirectory("orch-ckpt-").FullName;
        try
        {
            var full = Train(2, "--zero", "3", "--save-at", "8", "--checkpoint-dir", root);
            var ckpt = Path.Combine(root, "ckpt-000008");
            Assert.Equal(["manifest.json", "manifest.sha256", "shard-00000-of-00002.bin", "shard-00001-of-00002.bin"],
                Directory.GetFiles(ckpt).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal));
            var tail = new SortedDictionary<int, float>(full.Where(kv => kv.Key > 8).ToDictionary());
            AssertFollows(tail, Train(1, "--zero", "0", "--resume", ckpt));
            AssertFollows(tail, Train(3, "--zero", "1", "--resume", ckpt));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void A_rank_killed_with_sigkill_makes_the_others_fail_fast_with_a_clear_error()
    {
        var procs = Ranks.Start(3, "allreduce-loop", "--timeout", "60");
        try
        {
            foreach (var p in procs) Assert.Equal("ready", p.StandardOutput.ReadLine());
            var errs = procs.Select(p => p.StandardError.ReadToEndAsync()).ToArray();
            var watch = System.Diagnostics.Stopwatch.StartNew();
            procs[1].Kill(); // SIGKILL on Linux: no chance to say goodbye
            foreach (var r in new[] { 0, 2 })
            {
                Assert.True(procs[r].WaitForExit(TimeSpan.FromSeconds(15)), $"rank {r} hung after rank 1 died");
                Assert.Equal(3, procs[r].ExitCode);
            }
            // Far below the 60 s operation timeout: the failure is seen through the closed socket, not a timeout.
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"took {watch.Elapsed}");
            Assert.Matches("rank 1 (closed the connection|dropped the connection)", errs[2].Result);
            Assert.Contains("error: ring rank 0", errs[0].Result);
        }
        finally
        {
            foreach (var p in procs) { if (!p.HasExited) p.Kill(); p.Dispose(); }
        }
    }
}
