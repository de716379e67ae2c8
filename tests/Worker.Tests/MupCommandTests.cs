using System.Text.Json;
using Xunit.Abstractions;

namespace Orchestrator.Tests.Worker;

/// <summary>
/// μP through the real CLI: `orch train --parametrization mup`, its export checked by an independent GPT-2 forward
/// (bench/check_export.py), `orch check mup`'s JSON and files, and bad input (exit 2, one line).
/// </summary>
public sealed class MupCommandTests(ITestOutputHelper output)
{
    [Fact]
    public void A_mup_run_exports_a_plain_gpt2_whose_logits_are_the_models()
    {
        var corpus = BrownCorpus.Prepare(files: 3, blockSize: 32);
        var run = Path.Combine(TestData.TempDir("mup-cli"), "out");
        var train = OrchProcess.Run("train", "--data", corpus, "--out", run, "--set", "n_layer=1,n_head=2,n_embd=64,block_size=32",
            "--parametrization", "mup", "--base-width", "16", "--steps", "4", "--batch", "2", "--lr", "1e-2", "--eval-batches", "1", "--json");
        Assert.True(train.Exit == 0, train.Stderr);
        Assert.Contains("(μP, base width 16)", train.Stderr);
        ExportCheck.LogitsMatch(run, "nanogpt", output);
    }

    [Fact]
    public void Check_mup_prints_rows_and_growths_as_json_and_writes_the_plots()
    {
        var dir = Path.Combine(TestData.TempDir("coord"), "out");
        var r = OrchProcess.Run("check", "mup", "--widths", "32,64", "--steps", "2", "--batch", "2", "--block-size", "8", "--vocab", "64", "--out", dir, "--json");
        Assert.True(r.Exit == 0, r.Stderr);
        var j = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal(32, j.GetProperty("base_width").GetInt32());
        var rows = j.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(2 * 2 * 4, rows.Count); // sp and mup x 2 widths x (embed, h.0, h.1, logits)
        Assert.All(rows, x => Assert.True(x.GetProperty("update").GetDouble() > 0));
        Assert.Equal(2 * 4, j.GetProperty("growth").GetArrayLength());
        foreach (var f in new[] { "coord_check.csv", "coord_check_sp.png", "coord_check_mup.png", "coord_check_sp.svg", "coord_check_mup.svg" })
            Assert.True(File.Exists(Path.Combine(dir, f)), f);
        Assert.Equal(1 + rows.Count, File.ReadAllLines(Path.Combine(dir, "coord_check.csv")).Length);
    }

    [Fact]
    public void Bad_mup_input_exits_2_with_one_clear_line()
    {
        var corpus = BrownCorpus.Prepare(files: 3, blockSize: 32);
        var fresh = Path.Combine(TestData.TempDir("o"), "out");
        var cases = new (string[] Args, string Expect)[]
        {
            (["train", "--data", corpus, "--out", fresh, "--set", "n_embd=64,n_head=2", "--parametrization", "mup"], "parametrization mup needs --base-width"),
            (["train", "--data", corpus, "--out", fresh, "--set", "n_embd=64,n_head=2", "--parametrization", "mup", "--base-width", "128"], "--base-width 128 is larger than n_embd 64"),
            (["train", "--data", corpus, "--out", fresh, "--base-width", "64"], "--base-width 64 applies only to --parametrization mup (this one is sp)"),
            (["check", "mup", "--widths", "64,32"], "--widths 64,32: list each width once, narrowest first"),
            (["check", "mup", "--widths", "32,64", "--base-width", "48"], "--base-width 48 is larger than the narrowest width 32"),
            (["check", "mup", "--widths", "32,66"], "--heads 4: must divide every width"),
            (["check", "mup", "--widths", "32,x"], "--widths: 'x' is not a whole number"),
        };
        foreach (var (args, expect) in cases)
        {
            var r = OrchProcess.Run(args);
            output.WriteLine($"orch {string.Join(' ', args)} -> {r.Exit}: {r.Stderr.Trim()}");
            Assert.Equal(2, r.Exit);
            Assert.Contains(expect, r.Stderr);
            Assert.Single(r.Stderr.Trim().Split('\n'));
        }
        Assert.False(Directory.Exists(fresh));
    }
}
