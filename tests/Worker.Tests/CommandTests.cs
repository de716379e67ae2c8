using System.Text.Json;
using Xunit.Abstractions;
using Orchestrator.Worker.Checkpoints;

namespace Orchestrator.Tests.Worker;

/// <summary>`orch train|eval|sample|export` as real processes: --json contracts, determinism, bad input exit 2.</summary>
public sealed class CommandTests(CommandTests.TrainedRun run, ITestOutputHelper output) : IClassFixture<CommandTests.TrainedRun>
{
    /// <summary>One short training run on a slice of Brown, shared by the tests of this class.</summary>
    public sealed class TrainedRun
    {
        public string Corpus { get; } = BrownCorpus.Prepare(files: 6, blockSize: 32);
        public string RunDir { get; }
        public JsonElement TrainJson { get; }

        public TrainedRun()
        {
            RunDir = Path.Combine(TestData.TempDir("run"), "out");
            var r = OrchProcess.Run("train", "--data", Corpus, "--out", RunDir, "--set", "n_layer=1,n_head=2,n_embd=32,block_size=32",
                "--steps", "6", "--batch", "4", "--checkpoint-every", "2", "--keep", "2", "--eval-batches", "2", "--log-every", "2", "--json");
            if (r.Exit != 0) throw new InvalidOperationException($"orch train failed ({r.Exit}): {r.Stderr}");
            TrainJson = JsonDocument.Parse(r.Stdout).RootElement;
        }
    }

    readonly TrainedRun _run = run;

    [Fact]
    public void Train_prints_the_json_contract_and_keeps_the_last_two_checkpoints()
    {
        var j = _run.TrainJson;
        Assert.Equal(6, j.GetProperty("steps").GetInt64());
        Assert.True(j.GetProperty("loss").GetDouble() > 0);
        Assert.True(j.GetProperty("val_loss").GetDouble() > 0);
        Assert.True(j.GetProperty("tokens_per_second").GetDouble() > 0);
        Assert.Equal(JsonValueKind.Null, j.GetProperty("mfu").ValueKind);
        Assert.Equal(1, j.GetProperty("world_size").GetInt32());
        Assert.Equal(Path.Combine(_run.RunDir, "ckpt-000006"), j.GetProperty("checkpoint").GetString());
        var kept = Directory.GetDirectories(_run.RunDir).Select(d => Path.GetFileName(d)!).Order().ToArray();
        Assert.Equal(["ckpt-000004", "ckpt-000006"], kept);
    }

    [Fact]
    public void Eval_reports_val_loss_and_perplexity()
    {
        var r = OrchProcess.Run("eval", "--checkpoint", _run.RunDir, "--data", _run.Corpus, "--batches", "2", "--json");
        Assert.True(r.Exit == 0, r.Stderr);
        var j = JsonDocument.Parse(r.Stdout).RootElement;
        double loss = j.GetProperty("val_loss").GetDouble();
        Assert.Equal(Math.Exp(loss), j.GetProperty("perplexity").GetDouble(), 9);
        // The run's final val loss used the same val batches (same seed, same batch size 4, 2 batches).
        Assert.Equal(_run.TrainJson.GetProperty("val_loss").GetDouble(), loss, 4);
    }

    [Fact]
    public void Sample_is_deterministic_per_seed()
    {
        string[] Args(string seed) => ["sample", "--checkpoint", _run.RunDir, "--prompt", "The jury", "--max-tokens", "20", "--top-k", "20", "--top-p", "0.9", "--seed", seed, "--json"];
        var a = OrchProcess.Run(Args("1"));
        var b = OrchProcess.Run(Args("1"));
        var c = OrchProcess.Run(Args("2"));
        Assert.True(a.Exit == 0, a.Stderr);
        var ja = JsonDocument.Parse(a.Stdout).RootElement;
        Assert.StartsWith("The jury", ja.GetProperty("text").GetString());
        Assert.Equal(8 + 20, ja.GetProperty("tokens").GetArrayLength());
        Assert.Equal(a.Stdout, b.Stdout);
        Assert.NotEqual(a.Stdout, c.Stdout);
    }

    [Fact]
    public void Export_writes_gpt2_names_and_never_overwrites()
    {
        var dir = TestData.TempDir("export");
        var path = Path.Combine(dir, "model.safetensors");
        var r = OrchProcess.Run("export", "--checkpoint", _run.RunDir, "--out", path);
        Assert.True(r.Exit == 0, r.Stderr);
        var (tensors, meta) = Safetensors.Read(path);
        Assert.Contains("transformer.wte.weight", tensors.Keys);
        Assert.Contains("transformer.h.0.attn.c_attn.weight", tensors.Keys);
        Assert.Equal([96L, 32L], tensors["transformer.h.0.attn.c_attn.weight"].shape);
        Assert.Equal("257", meta["vocab_size"]);
        Assert.Equal(tensors["transformer.wte.weight"].data<float>().ToArray(), tensors["lm_head.weight"].data<float>().ToArray());
        var before = File.ReadAllBytes(path);
        var again = OrchProcess.Run("export", "--checkpoint", _run.RunDir, "--out", path, "--layout", "hf");
        Assert.Equal(2, again.Exit);
        Assert.Contains("already exists", again.Stderr);
        Assert.Equal(before, File.ReadAllBytes(path));
        var hf = Path.Combine(dir, "hf.safetensors");
        Assert.Equal(0, OrchProcess.Run("export", "--checkpoint", _run.RunDir, "--out", hf, "--layout", "hf").Exit);
        var (hfTensors, _) = Safetensors.Read(hf);
        Assert.Equal([32L, 96L], hfTensors["transformer.h.0.attn.c_attn.weight"].shape); // Conv1D: (in, out)
    }

    [Theory]
    [InlineData("nanogpt")]
    [InlineData("hf")]
    public void Exported_file_gives_our_logits_in_an_independent_gpt2_forward(string layout)
    {
        ExportCheck.LogitsMatch(_run.RunDir, layout, output);
    }

    [Fact]
    public void Bench_train_prints_throughput_on_the_cpu()
    {
        var r = OrchProcess.Run("bench", "train", "--model", "nano", "--set", "n_layer=1,n_head=2,n_embd=32,vocab_size=64",
            "--batch", "2", "--block-size", "16", "--steps", "3", "--warmup-steps", "1", "--json");
        Assert.True(r.Exit == 0, r.Stderr);
        var j = JsonDocument.Parse(r.Stdout).RootElement;
        double tps = j.GetProperty("tokens_per_second").GetDouble(), ms = j.GetProperty("ms_per_step").GetDouble();
        Assert.True(tps > 0);
        Assert.Equal(1000.0 * 2 * 16 / tps, ms, 6);
        Assert.Equal(3, j.GetProperty("steps").GetInt32());
        Assert.Equal("Float32", j.GetProperty("dtype").GetString());
        Assert.Equal(JsonValueKind.Null, j.GetProperty("mfu").ValueKind);
        Assert.Equal(JsonValueKind.Null, j.GetProperty("gpu_memory_used_mb").ValueKind);
        Assert.InRange(j.GetProperty("loss").GetDouble(), 3.0, 5.0); // about ln 64 = 4.16 on random tokens
    }

    [Fact]
    public void Bench_train_profile_reports_each_phase_of_the_step()
    {
        var r = OrchProcess.Run("bench", "train", "--model", "nano", "--set", "n_layer=1,n_head=2,n_embd=32,vocab_size=64",
            "--batch", "2", "--block-size", "16", "--steps", "3", "--warmup-steps", "1", "--grad-clip", "0", "--profile", "--json");
        Assert.True(r.Exit == 0, r.Stderr);
        var j = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal(0.0, j.GetProperty("grad_clip").GetDouble());
        var phases = j.GetProperty("phases").EnumerateArray().ToList();
        Assert.Equal(["data", "forward", "loss", "backward", "optimizer", "between steps"], phases.Select(p => p.GetProperty("phase").GetString()));
        // On the CPU only host time is kept; the forward, loss, backward and update all take some.
        Assert.All(phases, p => Assert.Equal(0.0, p.GetProperty("gpu_ms").GetDouble()));
        Assert.All(phases.Skip(1).Take(4), p => Assert.True(p.GetProperty("host_ms").GetDouble() > 0, p.ToString()));
        // The phases of a step add up to no more than the measured step time (the clock runs across all of them).
        Assert.True(phases.Sum(p => p.GetProperty("host_ms").GetDouble()) <= j.GetProperty("ms_per_step").GetDouble() * 1.05 + 0.5);

        var bad = OrchProcess.Run("bench", "train", "--model", "nano", "--grad-clip", "-1");
        Assert.Equal(2, bad.Exit);
        Assert.Contains("--grad-clip -1", bad.Stderr);
    }

    [Fact]
    public void Train_with_no_checkpoint_writes_nothing_to_its_out_folder()
    {
        var fresh = Path.Combine(TestData.TempDir("nockpt"), "out");
        var r = OrchProcess.Run("train", "--data", _run.Corpus, "--out", fresh, "--set", "n_layer=1,n_head=2,n_embd=32,block_size=32",
            "--steps", "2", "--batch", "2", "--eval-batches", "1", "--no-checkpoint", "--json");
        Assert.True(r.Exit == 0, r.Stderr);
        var j = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal(2, j.GetProperty("steps").GetInt64());
        Assert.Equal(JsonValueKind.Null, j.GetProperty("checkpoint").ValueKind);
        Assert.False(Directory.Exists(fresh));
    }

    [Fact]
    public void Bad_input_exits_2_with_one_clear_line()
    {
        var empty = TestData.TempDir("foreign");
        File.WriteAllText(Path.Combine(empty, "notes.txt"), "not a corpus");
        var fresh = Path.Combine(TestData.TempDir("o"), "out");
        var cases = new (string[] Args, string Expect)[]
        {
            (["train", "--data", "/nonexistent/corpus", "--out", fresh], "--data /nonexistent/corpus"),
            (["train", "--data", empty, "--out", fresh], "not a prepared corpus"),
            (["train", "--data", _run.Corpus, "--out", fresh, "--set", "n_embd=30,n_head=4"], "not divisible by n_head"),
            (["train", "--data", _run.Corpus, "--out", fresh, "--block-size", "64"], "larger than the corpus' block size 32"),
            (["train", "--data", _run.Corpus, "--out", _run.RunDir, "--steps", "8"], "--resume"),
            (["train", "--data", _run.Corpus, "--out", _run.RunDir, "--resume", "--no-checkpoint"], "--no-checkpoint writes none"),
            (["train", "--data", _run.Corpus, "--out", fresh, "--no-checkpoint", "--checkpoint-every", "2"], "drop --checkpoint-every"),
            (["eval", "--checkpoint", "/nonexistent/ckpt", "--data", _run.Corpus], "no such folder"),
            (["sample", "--checkpoint", _run.RunDir, "--prompt", "x", "--top-p", "1.5"], "--top-p"),
        };
        foreach (var (args, expect) in cases)
        {
            var r = OrchProcess.Run(args);
            output.WriteLine($"orch {string.Join(' ', args)} -> {r.Exit}: {r.Stderr.Trim()}");
            Assert.Equal(2, r.Exit);
            Assert.Contains(expect, r.Stderr);
            Assert.Single(r.Stderr.Trim().Split('\n'));
            Assert.Equal("", r.Stdout);
        }
        Assert.False(Directory.Exists(fresh));
    }

    [Fact]
    public void Corrupt_or_truncated_checkpoint_is_refused_and_resume_falls_back()
    {
        // A copy of the run, so the shared one stays intact.
        var run = Path.Combine(TestData.TempDir("corrupt"), "out");
        CopyDir(_run.RunDir, run);
        var newest = Path.Combine(run, "ckpt-000006");
        var shard = Path.Combine(newest, CheckpointStore.ShardFile(0, 1));
        var bytes = File.ReadAllBytes(shard);
        bytes[^5] ^= 0x40;
        File.WriteAllBytes(shard, bytes);
        var r = OrchProcess.Run("eval", "--checkpoint", newest, "--data", _run.Corpus);
        Assert.Equal(2, r.Exit);
        Assert.Contains("SHA-256", r.Stderr);

        var older = Path.Combine(run, "ckpt-000004", CheckpointStore.ShardFile(0, 1));
        var full = File.ReadAllBytes(older);
        File.WriteAllBytes(older, full[..(full.Length / 2)]);
        r = OrchProcess.Run("eval", "--checkpoint", Path.Combine(run, "ckpt-000004"), "--data", _run.Corpus);
        Assert.Equal(2, r.Exit);
        Assert.Contains("truncated", r.Stderr);
        File.WriteAllBytes(older, full);

        // --resume skips the corrupt newest one (with a warning) and continues from step 4; the corrupt folder is set aside, not overwritten.
        r = OrchProcess.Run("train", "--data", _run.Corpus, "--out", run, "--resume", "--steps", "6", "--json");
        Assert.True(r.Exit == 0, $"exit code {r.Exit}; stdout: {r.Stdout}; stderr: {r.Stderr}");
        Assert.Contains("skipping checkpoint", r.Stderr);
        var j = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal(Path.Combine(run, "ckpt-000004"), j.GetProperty("resumed_from").GetString());
        Assert.Equal(6, j.GetProperty("steps").GetInt64());
        Assert.Single(Directory.GetDirectories(run, "ckpt-000006.invalid-*"));
        CheckpointStore.Verify(Path.Combine(run, "ckpt-000006"));
    }

    static void CopyDir(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var d in Directory.GetDirectories(from)) CopyDir(d, Path.Combine(to, Path.GetFileName(d)));
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }
}
