using System.Diagnostics;
using System.Text.Json;
using Orchestrator.Sharding.Checkpointing;
using Orchestrator.Sharding.Interop;
using Orchestrator.Worker.Checkpoints;
using Orchestrator.Worker.Model;
using Orchestrator.Worker.Training;
using static TorchSharp.torch;
using Orchestrator.Sharding.Launch;

namespace Orchestrator.Tests.Worker;

public sealed class CheckpointTests
{
    public CheckpointTests() => TorchRuntime.Initialize();

    [Fact]
    public void Safetensors_round_trips_fp32_bf16_and_int64()
    {
        var path = Path.Combine(TestData.TempDir("st"), "t.safetensors");
        using var a = arange(12, dtype: ScalarType.Float32).view(3, 4);
        using var b = tensor(new[] { 1.5f, -2.25f }).to(ScalarType.BFloat16);
        using var c = tensor(new long[] { 7, 1L << 40 });
        Safetensors.Write(path, [("a", a), ("b", b), ("c", c)], new Dictionary<string, string> { ["k"] = "v" });
        var bytes = File.ReadAllBytes(path);
        long headerLen = BitConverter.ToInt64(bytes, 0);
        Assert.Equal(0, headerLen % 8);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLen));
        Assert.Equal("BF16", header.RootElement.GetProperty("b").GetProperty("dtype").GetString());
        var (t, meta) = Safetensors.Read(path);
        Assert.Equal("v", meta["k"]);
        Assert.True(t["a"].allclose(a, 0, 0));
        Assert.Equal(ScalarType.BFloat16, t["b"].dtype);
        Assert.True(t["b"].allclose(b, 0, 0));
        Assert.Equal(new long[] { 7, 1L << 40 }, t["c"].data<long>().ToArray());
        File.WriteAllBytes(path, bytes[..^3]);
        Assert.Throws<InvalidDataException>(() => Safetensors.Read(path));
    }

    [Fact]
    public void Keep_last_n_and_newest_valid()
    {
        var data = TestData.PatternCorpus();
        var run = TestData.TempDir("keep");
        var o = new TrainOptions { Steps = 5, BatchSize = 2, BlockSize = 16, LogEvery = 1, EvalBatches = 1, CheckpointEvery = 1, KeepCheckpoints = 2, DataDir = data, OutDir = run };
        using (var t = new Trainer(new GptConfig(NLayer: 1, NHead: 1, NEmbd: 8, BlockSize: 16, VocabSize: 32), o, TestData.Open)) t.Run();
        var store = new CheckpointStore(run, 2);
        Assert.Equal([4L, 5L], store.List().Select(c => c.Step));
        Assert.Empty(Directory.GetDirectories(run, ".tmp-*"));
        File.Delete(Path.Combine(run, "ckpt-000005", CheckpointManifest.FileName));     // as if killed before the manifest
        var warnings = new List<string>();
        Assert.Equal(Path.Combine(run, "ckpt-000004"), store.FindNewestValid(warnings.Add));
        Assert.Contains("no manifest.json", Assert.Single(warnings));
    }

    [Fact]
    public void Checkpoint_writes_and_the_resume_load_are_timed()
    {
        var data = TestData.PatternCorpus();
        var run = TestData.TempDir("timed");
        var config = new GptConfig(NLayer: 1, NHead: 1, NEmbd: 8, BlockSize: 16, VocabSize: 32);
        var o = new TrainOptions { Steps = 3, BatchSize = 2, BlockSize = 16, LogEvery = 1, EvalBatches = 0, CheckpointEvery = 1, DataDir = data, OutDir = run };
        using (var t = new Trainer(config, o, TestData.Open))
        {
            Assert.Null(t.CheckpointLoadMs);
            var r = t.Run();
            Assert.Equal(3, r.CheckpointWrites); // after steps 1 and 2, and the final one
            Assert.True(r.CheckpointBlockedMs > 0, $"blocked {r.CheckpointBlockedMs} ms");
        }
        using var resumed = new Trainer(config, o with { Steps = 4, Resume = true }, TestData.Open);
        Assert.True(resumed.CheckpointLoadMs > 0, $"load {resumed.CheckpointLoadMs} ms");
    }

    [Fact]
    public void Resuming_a_finished_run_keeps_its_checkpoint()
    {
        var data = TestData.PatternCorpus();
        var run = TestData.TempDir("done");
        var config = new GptConfig(NLayer: 1, NHead: 1, NEmbd: 8, BlockSize: 16, VocabSize: 32);
        var o = new TrainOptions { Steps = 3, BatchSize = 2, BlockSize = 16, LogEvery = 1, EvalBatches = 1, DataDir = data, OutDir = run };
        string first;
        using (var t = new Trainer(config, o, TestData.Open)) first = t.Run().Checkpoint!;
        var sha = File.ReadAllText(Path.Combine(first, CheckpointManifest.FileName));
        using (var t = new Trainer(config, o with { Resume = true }, TestData.Open))
        {
            Assert.Equal(3, t.StartStep);
            var r = t.Run();
            Assert.Equal(first, r.Checkpoint);
            Assert.Empty(r.Losses);
        }
        Assert.Equal(sha, File.ReadAllText(Path.Combine(first, CheckpointManifest.FileName)));
        Assert.Equal([Path.GetFileName(first)], Directory.GetDirectories(run).Select(d => Path.GetFileName(d)!));
    }

    [Fact]
    public void Bf16_compute_trains_with_fp32_masters()
    {
        var data = TestData.PatternCorpus();
        var o = new TrainOptions { Steps = 40, BatchSize = 8, BlockSize = 32, LearningRate = 3e-3, WarmupSteps = 4, LogEvery = 5, EvalBatches = 0, DataDir = data, Dtype = "bf16" };
        using var t = new Trainer(new GptConfig(NLayer: 2, NHead: 2, NEmbd: 32, BlockSize: 32, VocabSize: 32), o, TestData.Open);
        var r = t.Run();
        Assert.All(t.Model.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        Assert.All(t.Engine.Full.MasterWeights(), w => Assert.Equal(ScalarType.Float32, w.Tensor.dtype));
        Assert.True(r.Losses[^1] < r.Losses[0] - 1.0, $"losses {string.Join(", ", r.Losses)}");
        // The compute copy is the rounded master.
        var master = t.Engine.Full.MasterWeights().First(w => w.Name == "h.0.attn.c_attn.weight").Tensor;
        var compute = t.Model.named_parameters().First(p => p.name == "h.0.attn.c_attn.weight").parameter;
        Assert.True(master.to(ScalarType.BFloat16).allclose(compute, 0, 0));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Sharded_bf16_compute_starts_from_the_exact_fp32_weights_and_trains(int zero)
    {
        // GptEngine converts the module to bf16 and hands the engine the fp32 weights as a host vector: the
        // masters must be those weights bit for bit, and training must work from them (world 1 over the TCP ring).
        var config = new GptConfig(NLayer: 2, NHead: 2, NEmbd: 32, BlockSize: 32, VocabSize: 32);
        using var reference = new Gpt(config, 1337);
        var expected = reference.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var port = LocalPorts.FreePort();
        using var comm = Orchestrator.Sharding.Ring.RingCommunicator.ConnectStandalone(0, 1, $"127.0.0.1:{port}");
        var o = new TrainOptions { Steps = 40, BatchSize = 8, BlockSize = 32, LearningRate = 3e-3, WarmupSteps = 4, LogEvery = 5, EvalBatches = 0, DataDir = TestData.PatternCorpus(), Dtype = "bf16" };
        using var t = new Trainer(config, o with { Zero = zero }, TestData.Open, communicator: comm);
        var opt = t.Engine;
        foreach (var (name, w) in opt!.Full.MasterWeights())
            Assert.True(w.allclose(expected[name], 0, 0), $"{name}: the master is not the fp32 initial weight");
        var r = t.Run();
        Assert.True(r.Losses[^1] < r.Losses[0] - 1.0, $"losses {string.Join(", ", r.Losses)}");
        Assert.All(opt.Full.MasterWeights(), w => Assert.Equal(ScalarType.Float32, w.Tensor.dtype));
    }

    [Fact]
    public void Killing_the_process_while_it_writes_a_checkpoint_leaves_the_previous_one_loadable()
    {
        var corpus = BrownCorpus.Prepare(files: 3, blockSize: 32);
        var run = Path.Combine(TestData.TempDir("kill"), "out");
        // The failpoint stops the background writer of checkpoint 4 after its shard and before its announcement, manifest and rename;
        // the process says so on stderr and waits: the kill lands mid-write every time, not by timing.
        var start = OrchProcess.StartInfo("train", "--data", corpus, "--out", run,
            "--set", "n_layer=2,n_head=4,n_embd=64,block_size=32", "--steps", "12", "--batch", "2", "--checkpoint-every", "2", "--log-every", "1");
        start.Environment[CheckpointFailpoint.Variable] = "4";
        using var p = Process.Start(start)!;
        _ = p.StandardOutput.ReadToEndAsync();
        var stderr = new System.Text.StringBuilder();
        string? line;
        while ((line = p.StandardError.ReadLine()) is not null && !line.StartsWith(CheckpointFailpoint.Message, StringComparison.Ordinal))
            stderr.AppendLine(line);
        Assert.True(line == CheckpointFailpoint.Message + "4", "orch train exited before its second checkpoint: " + stderr);
        p.Kill(entireProcessTree: true);
        p.WaitForExit();

        // Checkpoint 4 is torn in its temp folder (shard only); no torn checkpoint is visible under a final name,
        // and the newest valid one, checkpoint 2, verifies and loads.
        var temp = Assert.Single(Directory.GetDirectories(run, ".tmp-ckpt-000004*"));
        Assert.Equal([CheckpointStore.ShardFile(0, 1)], Directory.GetFiles(temp).Select(Path.GetFileName));
        var store = new CheckpointStore(run);
        Assert.Equal([(2L, Path.Combine(run, "ckpt-000002"))], store.List());
        var newest = store.FindNewestValid();
        Assert.Equal(Path.Combine(run, "ckpt-000002"), newest);
        CheckpointStore.Verify(newest!);
        var loaded = CheckpointStore.Load(newest!);
        Assert.Equal(2, loaded.State.Step);
    }
}
