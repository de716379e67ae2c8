using System.Collections.Immutable;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Coordinator.Runs;

/// <summary>
/// A run's log lines in the run grain: numbered 1, 2, ... as they arrive, the newest kept. Invariant: at most
/// <see cref="RunLogLimits.MaxLines"/> lines and <see cref="RunLogLimits.MaxChars"/> characters of messages are held
/// (each message already cut to <see cref="RunLogLimits.MaxLineChars"/>); the kept lines are exactly the sequence
/// numbers FirstSeq..LastSeq, so a reader's "after S" is an index, and every line older than FirstSeq was dropped
/// (counted in the pages that ask for it). Memory only, not persisted: it starts empty with each activation.
/// </summary>
public sealed class RunLogRing(DateTimeOffset since, int maxLines = RunLogLimits.MaxLines, int maxChars = RunLogLimits.MaxChars)
{
    readonly List<RunLogLine> lines = [];
    long chars;

    /// <summary>When this ring began (a reader that sees another value knows the numbering restarted).</summary>
    public DateTimeOffset Since => since;
    /// <summary>The number of the newest line (0: none yet).</summary>
    public long LastSeq { get; private set; }
    /// <summary>The number of the oldest line kept (LastSeq + 1 when none is).</summary>
    public long FirstSeq => LastSeq - lines.Count + 1;
    public int Count => lines.Count;
    public long Chars => chars;

    /// <summary>Numbers and keeps the lines (messages cut to the line limit), dropping the oldest past the limits.</summary>
    public void Append(IEnumerable<RunLogLine> incoming, string workerId)
    {
        foreach (var l in incoming)
        {
            var line = l with { Seq = ++LastSeq, WorkerId = workerId, Message = RunLogLimits.Clip(l.Message) };
            lines.Add(line);
            chars += line.Message.Length;
        }
        int drop = 0;
        long dropChars = 0;
        while (lines.Count - drop > maxLines || chars - dropChars > maxChars)
            dropChars += lines[drop++].Message.Length;
        if (drop == 0) return;
        lines.RemoveRange(0, drop);
        chars -= dropChars;
    }

    public RunLogPage Read(RunLogQuery q, RunState state)
    {
        q.Validate();
        // A reader ahead of the ring (it restarted since) reads it from its start; Since tells it so.
        long after = q.After > LastSeq ? 0 : q.After;
        long dropped = Math.Max(0, FirstSeq - 1 - after);
        int start = (int)Math.Max(0, after - FirstSeq + 1);
        IEnumerable<RunLogLine> matching = lines.Skip(start);
        if (q.Rank is int rank) matching = matching.Where(l => l.Rank == rank);
        if (q.Tail is int tail)
        {
            // The last lines: whatever came before them was not asked for, so nothing counts as dropped.
            var last = matching.TakeLast(Math.Min(tail, q.Max)).ToImmutableArray();
            return new RunLogPage(last, LastSeq, false, 0, since, state);
        }
        var page = new List<RunLogLine>();
        long next = Math.Max(after, FirstSeq - 1);
        bool more = false;
        for (int i = start; i < lines.Count; i++)
        {
            var l = lines[i];
            if (q.Rank is int r && l.Rank != r) { next = l.Seq; continue; }
            if (page.Count == q.Max) { more = true; break; }
            page.Add(l);
            next = l.Seq;
        }
        return new RunLogPage([.. page], next, more, dropped, since, state);
    }
}
