using System.Collections.Immutable;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Tests.Coordinator;

/// <summary>
/// A run's log lines in the run grain: numbered in arrival order, every rank's; a bounded ring (lines and characters)
/// whose drops are counted for the reader; pages that a follower continues by sequence number; rank and tail filters;
/// lines of an old generation or of an ended run still kept; bad queries and unknown runs refused.
/// </summary>
public sealed class RunLogsTests : ClusterTest
{
    [Fact]
    public async Task Lines_of_every_rank_are_numbered_and_paged_by_sequence()
    {
        var (id, a) = await StartedRunAsync("logs");
        Assert.Equal(ReportOutcome.Continue, await Run(id).ReportAsync(Lines(a[0], "started at step 0 of 100 with 2 ranks")));
        Assert.Equal(ReportOutcome.Continue, await Run(id).ReportAsync(Lines(a[1], "started at step 0 of 100 with 2 ranks", "second")));

        var all = await Run(id).GetLogsAsync(new RunLogQuery());
        Assert.Equal([1L, 2, 3], all.Lines.Select(l => l.Seq));
        Assert.Equal([(0, "w1"), (1, "w2"), (1, "w2")], all.Lines.Select(l => (l.Rank, l.WorkerId)));
        Assert.Equal(["started at step 0 of 100 with 2 ranks", "started at step 0 of 100 with 2 ranks", "second"], all.Lines.Select(l => l.Message));
        Assert.Equal((3L, false, 0L, RunState.Running), (all.Next, all.More, all.Dropped, all.State));

        // A follower asks after what it printed: only the new lines, none twice.
        Assert.Empty((await Run(id).GetLogsAsync(new RunLogQuery { After = all.Next })).Lines);
        await Run(id).ReportAsync(Lines(a[0], "third"));
        var next = await Run(id).GetLogsAsync(new RunLogQuery { After = all.Next });
        Assert.Equal([(4L, "third")], next.Lines.Select(l => (l.Seq, l.Message)));

        // Rank 0 only; the last 2 lines.
        Assert.Equal([1L, 4], (await Run(id).GetLogsAsync(new RunLogQuery { Rank = 0 })).Lines.Select(l => l.Seq));
        var tail = await Run(id).GetLogsAsync(new RunLogQuery { Tail = 2 });
        Assert.Equal(("3,4", 4L), (Seqs(tail), tail.Next));
        // Paged: 3 at a time, More while lines remain.
        var p1 = await Run(id).GetLogsAsync(new RunLogQuery { Max = 3 });
        Assert.Equal(("1,2,3", 3L, true), (Seqs(p1), p1.Next, p1.More));
        var p2 = await Run(id).GetLogsAsync(new RunLogQuery { After = p1.Next, Max = 3 });
        Assert.Equal(("4", 4L, false), (Seqs(p2), p2.Next, p2.More));
        // Rank 1, one a page: a page looks past other ranks' lines (Next moves over them), and stops at a second line of its rank.
        var r1 = await Run(id).GetLogsAsync(new RunLogQuery { Rank = 1, Max = 1 });
        Assert.Equal(("2", 2L, true), (Seqs(r1), r1.Next, r1.More));
        var r2 = await Run(id).GetLogsAsync(new RunLogQuery { Rank = 1, After = r1.Next, Max = 1 });
        Assert.Equal(("3", 4L, false), (Seqs(r2), r2.Next, r2.More));
        var r3 = await Run(id).GetLogsAsync(new RunLogQuery { Rank = 1, After = r2.Next, Max = 1 });
        Assert.Equal((0, 4L, false), (r3.Lines.Length, r3.Next, r3.More));
    }

    [Fact]
    public async Task The_ring_keeps_the_newest_lines_and_counts_the_dropped()
    {
        var (id, a) = await StartedRunAsync("ring");
        // 6,000 short lines in batches, as reports bring them: the first 1,000 go.
        for (int batch = 0; batch < 6; batch++)
            await Run(id).ReportAsync(Lines(a[batch % 2], [.. Enumerable.Range(batch * 1000 + 1, 1000).Select(i => $"line {i}")]));
        var first = await Run(id).GetLogsAsync(new RunLogQuery());
        Assert.Equal((1000L, 1001L, "line 1001", 1000, true), (first.Dropped, first.Lines[0].Seq, first.Lines[0].Message, first.Lines.Length, first.More));
        var seen = new List<RunLogLine>(first.Lines);
        var page = first;
        while (page.More)
        {
            page = await Run(id).GetLogsAsync(new RunLogQuery { After = page.Next });
            Assert.Equal(0, page.Dropped);
            seen.AddRange(page.Lines);
        }
        Assert.Equal(Enumerable.Range(1001, RunLogLimits.MaxLines).Select(i => (long)i), seen.Select(l => l.Seq));
        Assert.Equal("line 6000", seen[^1].Message);

        // A reader who had read up to 500 learns that 500 lines it never saw were dropped.
        Assert.Equal(500, (await Run(id).GetLogsAsync(new RunLogQuery { After = 500 })).Dropped);

        // Characters bound the ring too: 1,100 lines of 1,000 characters are more than 1 MiB; a longer line is cut.
        await Run(id).ReportAsync(Lines(a[0], [.. Enumerable.Range(0, 1100).Select(i => new string('x', 1000))]));
        await Run(id).ReportAsync(Lines(a[0], new string('y', 5000) + "\nsecond line"));
        var big = await Run(id).GetLogsAsync(new RunLogQuery { Tail = RunLogLimits.MaxLines, Max = RunLogLimits.MaxPage });
        var last = big.Lines[^1];
        Assert.Equal((7101L, RunLogLimits.MaxLineChars), (last.Seq, last.Message.Length));
        Assert.Equal(new string('y', RunLogLimits.MaxLineChars - 1) + "…", last.Message);
        var held = await ReadAllAsync(id);
        Assert.True(held.Sum(l => (long)l.Message.Length) <= RunLogLimits.MaxChars, $"{held.Sum(l => (long)l.Message.Length)} characters held");
        // 1,046 lines of 1,000 and the 2,000 of the cut line fill 1 MiB (1,048,576): the oldest x lines went, and every line before them.
        Assert.Equal(((1L << 20) - RunLogLimits.MaxLineChars) / 1000 + 1, held.Count);
        Assert.Equal(7101 - held.Count, (await Run(id).GetLogsAsync(new RunLogQuery())).Dropped);
    }

    [Fact]
    public async Task Lines_of_an_old_generation_and_of_an_ended_run_are_kept()
    {
        var (id, a) = await StartedRunAsync("late");
        await Run(id).CancelAsync("test");
        // The report is told to stop, but its lines (an old generation's, after the end) are kept.
        Assert.Equal(ReportOutcome.Stop, await Run(id).ReportAsync(Lines(a[1], "stopping")));
        var page = await Run(id).GetLogsAsync(new RunLogQuery());
        Assert.Equal(RunState.Cancelled, page.State);
        Assert.Equal([(1, "stopping")], page.Lines.Select(l => (l.Rank, l.Message)));
    }

    [Fact]
    public async Task Bad_queries_and_unknown_runs_are_refused()
    {
        await Assert.ThrowsAsync<UnknownRunException>(() => Run("nobody-000000").GetLogsAsync(new RunLogQuery()));
        var (id, _) = await StartedRunAsync("bad");
        var e = await Assert.ThrowsAsync<ArgumentException>(() => Run(id).GetLogsAsync(new RunLogQuery { Tail = 0 }));
        Assert.Equal($"--tail 0: must be 1..{RunLogLimits.MaxLines}", e.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => Run(id).GetLogsAsync(new RunLogQuery { Rank = -1 }));
        await Assert.ThrowsAsync<ArgumentException>(() => Run(id).GetLogsAsync(new RunLogQuery { Max = RunLogLimits.MaxPage + 1 }));
    }

    static string Seqs(RunLogPage p) => string.Join(",", p.Lines.Select(l => l.Seq));

    async Task<List<RunLogLine>> ReadAllAsync(string id)
    {
        var lines = new List<RunLogLine>();
        RunLogPage page = null!;
        do
        {
            page = await Run(id).GetLogsAsync(new RunLogQuery { After = page?.Next ?? 0 });
            lines.AddRange(page.Lines);
        } while (page.More);
        return lines;
    }

    async Task<(string Id, RunAssignment[] Ranks)> StartedRunAsync(string name)
    {
        await RegisterAsync("w1");
        await RegisterAsync("w2");
        var id = (await Scheduler.SubmitRunAsync(Spec(name, 2, 2))).Id;
        var ranks = new[] { await Commands.AssignmentAsync("w1", 1), await Commands.AssignmentAsync("w2", 1) };
        Assert.Equal(RendezvousOutcome.Ready, (await RendezvousAllAsync(id, ranks)).Outcome);
        return (id, ranks);
    }

    static ProgressReport Lines(RunAssignment a, params string[] messages) => new()
    {
        WorkerId = a.Members[a.Rank], Generation = a.Generation, Rank = a.Rank,
        Logs = [.. messages.Select(m => new RunLogLine(0, DateTimeOffset.UnixEpoch, a.Rank, "", "info", m))],
    };
}
