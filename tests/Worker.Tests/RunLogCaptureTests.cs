using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Runs;
using Orchestrator.Worker.Hosting;

namespace Orchestrator.Tests.Worker;

/// <summary>
/// The worker's run log capture, behind a real logger factory beside another provider: only lines logged inside a
/// run's scope are kept, per run and rank, with their level and the exception's message; a long line is cut; more
/// than the pending bound drops the oldest and says how many in a line of its own; a take empties the queue; ranks
/// whose lines were taken make room for new ones, so a long-lived worker keeps capturing run after run.
/// </summary>
public sealed class RunLogCaptureTests
{
    [Fact]
    public void Lines_in_a_run_scope_are_kept_per_run_and_rank()
    {
        var capture = new RunLogCapture();
        using var factory = LoggerFactory.Create(b => b.AddProvider(capture).AddFilter(_ => true).AddSimpleConsole());
        var log = factory.CreateLogger("Orchestrator.Worker.Hosting.WorkerRuntime");

        log.LogInformation("outside any run");
        using (log.BeginScope("run {RunId} rank {Rank} generation {Generation}", "r-1", 1, 3))
        {
            log.LogInformation("started at step {Step} of {Total} with {World} ranks", 0, 10, 2);
            using (log.BeginScope("inner {Thing}", "x")) log.LogWarning("still rank {Rank}'s", 1);
            log.LogError(new InvalidOperationException("boom"), "job failed ({Kind})", "fatal");
            log.LogInformation(new string('z', RunLogLimits.MaxLineChars + 10));
        }
        using (log.BeginScope("run {RunId} rank {Rank} generation {Generation}", "r-2", 0, 1)) log.LogInformation("other run");

        Assert.True(capture.HasLines("r-1", 1));
        Assert.False(capture.HasLines("r-1", 0));
        var lines = capture.Take("r-1", 1);
        Assert.Equal([
            ("info", "started at step 0 of 10 with 2 ranks"),
            ("warn", "still rank 1's"),
            ("error", "job failed (fatal): InvalidOperationException: boom"),
            ("info", new string('z', RunLogLimits.MaxLineChars - 1) + "…"),
        ], lines.Select(l => (l.Level, l.Message)));
        Assert.All(lines, l => Assert.Equal((0L, 1, ""), (l.Seq, l.Rank, l.WorkerId)));
        Assert.False(capture.HasLines("r-1", 1));
        Assert.Empty(capture.Take("r-1", 1));
        Assert.Equal(["other run"], capture.Take("r-2", 0).Select(l => l.Message));
    }

    [Fact]
    public void Past_the_pending_bound_the_oldest_lines_go_and_the_drop_is_told()
    {
        var capture = new RunLogCapture();
        using var factory = LoggerFactory.Create(b => b.AddProvider(capture));
        var log = factory.CreateLogger("Orchestrator.Test");
        using (log.BeginScope("run {RunId} rank {Rank} generation {Generation}", "r", 0, 1))
            for (int i = 1; i <= RunLogLimits.MaxPending + 5; i++) log.LogInformation("line {I}", i);
        var lines = capture.Take("r", 0);
        Assert.Equal(RunLogLimits.MaxPending + 1, lines.Length);
        Assert.Equal(("warn", $"5 log lines dropped on the worker: more than {RunLogLimits.MaxPending} waited for the coordinator"), (lines[0].Level, lines[0].Message));
        Assert.Equal(("line 6", $"line {RunLogLimits.MaxPending + 5}"), (lines[1].Message, lines[^1].Message));
        Assert.Empty(capture.Take("r", 0));
    }

    [Fact]
    public void Ranks_whose_lines_were_taken_make_room_for_new_ones_past_the_bound()
    {
        var capture = new RunLogCapture();
        using var factory = LoggerFactory.Create(b => b.AddProvider(capture));
        var log = factory.CreateLogger("Orchestrator.Test");
        // A long-lived worker trains many runs one after another: each run's lines are taken by its reports.
        for (int run = 0; run < RunLogCapture.MaxRanks + 10; run++)
        {
            using (log.BeginScope("run {RunId} rank {Rank} generation {Generation}", $"r{run}", 0, 1)) log.LogInformation("started");
            Assert.Equal(["started"], capture.Take($"r{run}", 0).Select(l => l.Message));
        }
        // Past the bound with lines waiting everywhere, one more rank's line is dropped rather than held.
        for (int run = 0; run < RunLogCapture.MaxRanks; run++)
            using (log.BeginScope("run {RunId} rank {Rank} generation {Generation}", $"w{run}", 0, 1)) log.LogInformation("waiting");
        using (log.BeginScope("run {RunId} rank {Rank} generation {Generation}", "late", 0, 1)) log.LogInformation("no room");
        Assert.False(capture.HasLines("late", 0));
        Assert.True(capture.HasLines($"w{RunLogCapture.MaxRanks - 1}", 0));
    }
}
