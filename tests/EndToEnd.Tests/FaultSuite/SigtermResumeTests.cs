using System.Diagnostics;
using System.Text.Json;
using Xunit.Abstractions;

namespace Orchestrator.Tests.EndToEnd.FaultSuite;

/// <summary>
/// SIGTERM of `orch train` at a seeded step: it finishes the step, checkpoints it and exits 143; the same command with
/// --resume trains on from that very step and ends bit-identical (train and validation loss) to a run never stopped.
/// Risk: a signal that lands after the last step has nothing to stop; the seeded step is at most half the run and
/// the signal follows that step's log line.
/// </summary>
public sealed class SigtermResumeTests(ITestOutputHelper output)
{
    const int Steps = 40;
    static readonly string[] Tiny = ["--set", "n_layer=1,n_head=2,n_embd=32,block_size=32", "--batch", "4", "--eval-batches", "4", "--log-every", "1",
        "--checkpoint-every", "10", "--steps", $"{Steps}", "--lr", "0.003", "--seed", "5"];

    [Fact]
    public async Task Sigterm_of_orch_train_at_a_seeded_step_resumes_exactly()
    {
        var plan = FaultPlan.FromEnvironment();
        int at = 3 + plan.For("sigterm-train").Next(Steps / 2 - 3);
        output.WriteLine($"fault seed {plan.Seed}: SIGTERM after step {at} of {Steps}");
        var dir = Directory.CreateTempSubdirectory("orch-faults-term-");
        string[] words = ["a", "signal", "stops", "the", "run", "at", "a", "step", "it", "checkpoints", "and", "resumes"];
        var corpus = await WordCorpus.PrepareAsync(dir.FullName, 9, words, 8_000, 10, 32);

        var whole = await OrchProcess.RunAsync(["train", "--data", corpus, "--out", Path.Combine(dir.FullName, "whole"), "--json", .. Tiny]);
        Assert.True(whole.Exit == 0, whole.Stderr);

        string outDir = Path.Combine(dir.FullName, "stopped");
        await using var train = OrchProcess.Start(["train", "--data", corpus, "--out", outDir, .. Tiny]);
        await train.WaitForLineAsync($"^step {at}/", TimeSpan.FromSeconds(180));
        var signalled = Stopwatch.StartNew();
        using (var kill = Process.Start("kill", $"-TERM {train.Id}")) await kill.WaitForExitAsync();
        Assert.Equal(143, await train.WaitForExitAsync(TimeSpan.FromSeconds(120)));
        var stopped = await train.WaitForLineAsync(@"^stopped by SIGTERM at step (\d+); checkpoint ");
        int step = int.Parse(stopped.Groups[1].Value);
        Assert.InRange(step, at, Steps - 1);

        await using var resumed = OrchProcess.Start(["train", "--data", corpus, "--out", outDir, "--resume", "--json", .. Tiny]);
        await resumed.WaitForLineAsync($"^step {step + 1}/", TimeSpan.FromSeconds(180));
        double recovery = signalled.Elapsed.TotalSeconds;
        Assert.Equal(0, await resumed.WaitForExitAsync(TimeSpan.FromSeconds(180)));
        Assert.Contains($"resumed from {Path.Combine(outDir, $"ckpt-{step:D6}")} at step {step}", resumed.Output);

        var a = JsonDocument.Parse(whole.Stdout).RootElement;
        var b = JsonDocument.Parse(resumed.Stdout).RootElement;
        Assert.Equal(Steps, b.GetProperty("steps").GetInt64());
        Assert.Equal(a.GetProperty("val_loss").GetDouble(), b.GetProperty("val_loss").GetDouble());
        Assert.Equal(a.GetProperty("loss").GetDouble(), b.GetProperty("loss").GetDouble());
        FaultReport.Add(output, plan.Seed, "sigterm orch train", "orch train", $"{step}", recovery, 0);
        dir.Delete(true);
    }
}
