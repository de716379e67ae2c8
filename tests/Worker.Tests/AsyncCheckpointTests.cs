using Orchestrator.Sharding.Checkpointing;
using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Interop;
using Orchestrator.Sharding.Launch;
using Orchestrator.Sharding.Ring;
using Orchestrator.Worker.Checkpoints;
using Orchestrator.Worker.Model;
using Orchestrator.Worker.Training;

namespace Orchestrator.Tests.Worker;

/// <summary>
/// The trainer's checkpoints: one shard per rank written off the training thread, committed by rank 0's manifest,
/// read back at any world size; background failures surface on the training thread; a run returns only with its
/// checkpoints committed. Multi-rank trainers run on threads over real TCP ring communicators.
/// </summary>
public sealed class AsyncCheckpointTests
{
    static readonly GptConfig Config = new(NLayer: 2, NHead: 2, NEmbd: 16, BlockSize: 16, VocabSize: 32);

    public AsyncCheckpointTests() => TorchRuntime.Initialize();

    static TrainOptions Options(string data, string outDir, int steps, int rank = 0, int world = 1, int zero = 0) => new()
    {
        Steps = steps, BatchSize = 2, BlockSize = 16, LearningRate = 3e-3, WarmupSteps = 2, LogEvery = 1, EvalBatches = 0,
        CheckpointEvery = 3, KeepCheckpoints = 10, DataDir = data, OutDir = outDir, Seed = 5, Rank = rank, WorldSize = world, Zero = zero,
        Resume = true,
    };

    /// <summary>One trainer per rank, each on its own thread with its ring communicator; rank 0's result.</summary>
    static T OnRanks<T>(int world, Func<int, ICommunicator, T> body)
    {
        var master = $"127.0.0.1:{LocalPorts.FreePort()}";
        var results = new T[world];
        var errors = new Exception?[world];
        var threads = Enumerable.Range(0, world).Select(r => new Thread(() =>
        {
            try
            {
                using var comm = RingCommunicator.ConnectStandalone(r, world, master);
                results[r] = body(r, comm);
            }
            catch (Exception e) { errors[r] = e; }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        if (errors.Any(e => e is not null)) throw new AggregateException(errors.Where(e => e is not null)!);
        return results[0];
    }

    // Collective: the fp32 masters and both AdamW moments by name, gathered whole.
    static Dictionary<string, float[]> State(Trainer t) =>
        t.Engine.Full.MasterWeights().Concat(t.Engine.Full.OptimizerState()).ToDictionary(w => w.Name, w => w.Tensor.data<float>().ToArray());

    static (List<double> Losses, Dictionary<string, float[]> State, long Start) Train(string data, string outDir, int steps, int world, int zero,
        int accum = 1, bool keepAccum = false) =>
        OnRanks(world, (rank, comm) =>
        {
            var o = Options(data, outDir, steps, rank, world, zero) with { GradAccum = accum, KeepGradAccum = keepAccum };
            using var t = new Trainer(Config, o, TestData.Open, communicator: comm);
            var losses = t.Run().Losses.ToList();
            return (losses, State(t), t.StartStep);
        });

    static void AssertSameState(Dictionary<string, float[]> expected, Dictionary<string, float[]> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, values) in expected) Assert.True(values.SequenceEqual(actual[name]), $"{name} differs");
    }

    [Fact]
    public void A_world_2_checkpoint_resumes_at_worlds_1_and_3_and_a_split_run_follows_the_uninterrupted_one()
    {
        var data = TestData.PatternCorpus();
        var run = TestData.TempDir("w2");
        var two = Train(data, run, 6, world: 2, zero: 1);
        var ckpt = Path.Combine(run, "ckpt-000006");
        var m = CheckpointStore.Verify(ckpt);
        Assert.Equal((6L, 2), (m.Step, m.WorldSize));
        Assert.Equal(["manifest.json", "manifest.sha256", "shard-00000-of-00002.bin", "shard-00001-of-00002.bin", "state.json"],
            Directory.GetFiles(ckpt).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal));

        // Read back at world 1 (replicated) and world 3 (ZeRO-3): every master and moment exactly as saved.
        var one = Train(data, run, 6, world: 1, zero: 0);
        Assert.Equal(6, one.Start);
        AssertSameState(two.State, one.State);
        var three = Train(data, run, 8, world: 3, zero: 3);
        Assert.Equal(6, three.Start);
        Assert.Equal(2, three.Losses.Count);
        // ...and what world 3 wrote (steps 7 and 8, three shards) is read back at world 1 exactly too.
        Assert.Equal(3, CheckpointStore.Verify(Path.Combine(run, "ckpt-000008")).WorldSize);
        AssertSameState(three.State, Train(data, run, 8, world: 1, zero: 0).State);

        // At world 2, stopping at step 3 and resuming gives the uninterrupted run's losses, bit for bit.
        var split = TestData.TempDir("w2split");
        var first = Train(data, split, 3, world: 2, zero: 1);
        var rest = Train(data, split, 6, world: 2, zero: 1);
        Assert.Equal(two.Losses, first.Losses.Concat(rest.Losses));
        AssertSameState(two.State, rest.State);
    }

    [Fact]
    public void Resumed_at_worlds_1_and_3_with_the_global_batch_kept_the_losses_follow_the_uninterrupted_world_2_run()
    {
        // 12 sequences per step at every world (2 per micro-batch x accum x world): the loader hands the same blocks
        // to each step whatever the world, so only fp32 reduction order may differ.
        var data = TestData.PatternCorpus();
        var run = TestData.TempDir("gb2");
        var two = Train(data, run, 6, world: 2, zero: 1, accum: 3);
        foreach (var (world, zero, accum) in new[] { (1, 0, 6), (3, 3, 2) })
        {
            var dir = TestData.TempDir($"gb{world}");
            var from = Path.Combine(run, "ckpt-000003");
            Directory.CreateDirectory(Path.Combine(dir, "ckpt-000003"));
            foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(dir, "ckpt-000003", Path.GetFileName(f)));
            var resumed = Train(data, dir, 6, world, zero, accum, keepAccum: true);
            Assert.Equal(3, resumed.Start);
            Assert.Equal(3, resumed.Losses.Count);
            for (var i = 0; i < 3; i++)
                Assert.True(Math.Abs(two.Losses[3 + i] - resumed.Losses[i]) <= 2e-5,
                    $"world {world}, step {4 + i}: {resumed.Losses[i]}, uninterrupted {two.Losses[3 + i]}");
        }
    }

    [Fact]
    public void The_final_checkpoint_is_committed_before_Run_returns_and_each_write_is_timed()
    {
        var run = TestData.TempDir("final");
        using var t = new Trainer(Config, Options(TestData.PatternCorpus(), run, 4) with { CheckpointEvery = 1 }, TestData.Open);
        var r = t.Run();
        Assert.Equal(Path.Combine(run, "ckpt-000004"), r.Checkpoint);
        CheckpointStore.Verify(r.Checkpoint!);
        Assert.Equal([1L, 2, 3, 4], new CheckpointStore(run).List().Select(c => c.Step));
        Assert.Empty(Directory.GetDirectories(run, ".tmp-*"));
        // Every write finished (its background time is set when it ends) and each shard holds 3 fp32 buffers.
        Assert.Equal([1L, 2, 3, 4], r.Checkpoints.Select(c => c.Step));
        Assert.All(r.Checkpoints, c =>
        {
            Assert.True(c.BlockedMs > 0 && c.WriteMs > 0, $"step {c.Step}: blocked {c.BlockedMs} ms, write {c.WriteMs} ms");
            Assert.Equal(3 * sizeof(float) * t.Engine.Layout.Total, c.Bytes);
        });
        Assert.Equal(r.Checkpoints.Sum(c => c.WriteMs), r.CheckpointWriteMs);
    }

    [Fact]
    public void Stretches_that_do_not_wait_report_each_checkpoint_once_it_is_committed()
    {
        // The worker job's pattern: train to a boundary, return while that checkpoint is written, train on.
        var run = TestData.TempDir("stretch");
        using var t = new Trainer(Config, Options(TestData.PatternCorpus(), run, 6) with { CheckpointEvery = 0 }, TestData.Open);
        var reported = new List<(long Step, string Path)>();
        void Collect()
        {
            foreach (var c in t.TakeCompletedCheckpoints())
            {
                CheckpointStore.Verify(c.Path); // committed when reported
                reported.Add(c);
            }
        }
        Assert.Equal(2, t.Run(stopAt: 2, waitForCheckpoints: false).Steps);
        Collect();
        Assert.Equal(4, t.Run(stopAt: 4, waitForCheckpoints: false).Steps);
        Collect(); // the checkpoint of step 4 waited for step 2's: that one is done by now
        Assert.Equal(2, reported[0].Step);
        Assert.Equal(6, t.Run(waitForCheckpoints: false).Steps); // the horizon always waits
        Collect();
        Assert.Equal([2L, 4, 6], reported.Select(c => c.Step));
        Assert.Equal(reported.Select(c => Path.Combine(run, CheckpointStore.FolderName(c.Step))), reported.Select(c => c.Path));
    }

    [Fact]
    public void Rank_0_disposes_at_once_while_its_commit_waits_for_a_shard_that_never_comes()
    {
        // A rank lost after the checkpoint's nonce but before its shard (a SIGKILL at the boundary) leaves rank 0's
        // background commit waiting for that shard; the next generation disposes rank 0's job, which must end the
        // wait, or the worker never reaches the next rendezvous. Here rank 1 writes its shard into another folder.
        var data = TestData.PatternCorpus();
        string run = TestData.TempDir("lost-shard"), elsewhere = TestData.TempDir("lost-shard-elsewhere");
        bool disposed = OnRanks(2, (rank, comm) =>
        {
            var t = new Trainer(Config, Options(data, rank == 0 ? run : elsewhere, 6, rank, world: 2) with { CheckpointEvery = 3 },
                TestData.Open, communicator: comm);
            Assert.Equal(3, t.Run(stopAt: 3, waitForCheckpoints: false).Steps);
            if (rank == 1)
            {
                t.Dispose();
                return true;
            }
            Assert.Empty(t.TakeCompletedCheckpoints()); // rank 0's commit of step 3 is still waiting for rank 1's shard
            return Task.Run(t.Dispose).Wait(TimeSpan.FromSeconds(30));
        });
        Assert.True(disposed, "rank 0's Dispose did not return within 30 s of its commit starting to wait");
        Assert.False(Directory.Exists(Path.Combine(run, "ckpt-000003")), "a checkpoint without rank 1's shard was committed");
    }

    [Fact]
    public void A_failed_background_write_surfaces_on_the_training_thread_with_the_checkpoint_it_was()
    {
        var data = TestData.PatternCorpus();
        // The run folder's path holds a file: the background writer cannot make its temp folder there.
        var periodic = Path.Combine(TestData.TempDir("fail"), "out");
        using (var t = new Trainer(Config, Options(data, periodic, 9) with { CheckpointEvery = 2 }, TestData.Open))
        {
            File.WriteAllText(periodic, "not a folder");
            var e = Assert.Throws<IOException>(() => t.Run());
            Assert.StartsWith($"checkpoint {Path.Combine(periodic, "ckpt-000002")}: the background write failed: ", e.Message);
        }
        // The final checkpoint's failure surfaces at the end of the run, never lost.
        var final = Path.Combine(TestData.TempDir("fail-final"), "out");
        using (var t = new Trainer(Config, Options(data, final, 2) with { CheckpointEvery = 0 }, TestData.Open))
        {
            File.WriteAllText(final, "not a folder");
            var e = Assert.Throws<IOException>(() => t.Run());
            Assert.StartsWith($"checkpoint {Path.Combine(final, "ckpt-000002")}: the background write failed: ", e.Message);
        }
    }
}
