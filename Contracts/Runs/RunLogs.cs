using System.Collections.Immutable;

namespace Orchestrator.Contracts.Runs;

/// <summary>
/// The log lines a run's ranks wrote while training it, as `orch run logs` reads them. Workers capture the lines
/// logged inside a run's scope and send them with their progress reports; the run grain keeps the newest of them in
/// a bounded ring in memory (<see cref="RunLogLimits"/>), numbered in arrival order. Risk guarded: a chatty or
/// looping rank taking the coordinator's memory or a report's frame: every line, every pending batch and the ring
/// are capped, and what is dropped is counted, never silently lost.
/// </summary>
/// <param name="Seq">1, 2, ... in the order the run grain received the lines (0 until then).</param>
/// <param name="At">When the worker logged it (the worker's clock).</param>
/// <param name="Level">trace, debug, info, warn, error or critical.</param>
[GenerateSerializer, Immutable, Alias("orch.RunLogLine")]
public sealed record RunLogLine(
    [property: Id(0)] long Seq,
    [property: Id(1)] DateTimeOffset At,
    [property: Id(2)] int Rank,
    [property: Id(3)] string WorkerId,
    [property: Id(4)] string Level,
    [property: Id(5)] string Message);

/// <summary>
/// What a reader asks the run grain for: the lines after sequence number <see cref="After"/> (0: from the oldest
/// kept), only rank <see cref="Rank"/>'s when given, or only the last <see cref="Tail"/> of them; at most
/// <see cref="Max"/> lines a page (the reader pages on with <see cref="RunLogPage.Next"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("orch.RunLogQuery")]
public sealed record RunLogQuery
{
    [Id(0)] public long After { get; init; }
    [Id(1)] public int? Rank { get; init; }
    [Id(2)] public int? Tail { get; init; }
    [Id(3)] public int Max { get; init; } = RunLogLimits.MaxPage;

    /// <summary>Throws ArgumentException (bad input) naming the field out of range.</summary>
    public void Validate()
    {
        if (After < 0) throw new ArgumentException($"log sequence {After}: must be 0 or more");
        if (Rank is < 0 or >= Limits.ResourceLimits.MaxWorkersPerRun)
            throw new ArgumentException($"--rank {Rank}: must be 0..{Limits.ResourceLimits.MaxWorkersPerRun - 1}");
        if (Tail is < 1 or > RunLogLimits.MaxLines) throw new ArgumentException($"--tail {Tail}: must be 1..{RunLogLimits.MaxLines}");
        if (Max is < 1 or > RunLogLimits.MaxPage) throw new ArgumentException($"log page of {Max} lines: must be 1..{RunLogLimits.MaxPage}");
    }
}

/// <summary>One page of a run's log.</summary>
/// <param name="Lines">In sequence order.</param>
/// <param name="Next">Ask after this sequence number for the lines that come next (the last one this page looked at).</param>
/// <param name="More">Lines after <paramref name="Next"/> are already there (the page was full).</param>
/// <param name="Dropped">Lines after the asked-for sequence number that the ring no longer holds (it keeps the newest).</param>
/// <param name="Since">When this ring began (the run grain's activation): a different value means the coordinator's copy
/// restarted, and sequence numbers with it.</param>
/// <param name="State">The run's state, so a follower knows when it ended.</param>
[GenerateSerializer, Immutable, Alias("orch.RunLogPage")]
public sealed record RunLogPage(
    [property: Id(0)] ImmutableArray<RunLogLine> Lines,
    [property: Id(1)] long Next,
    [property: Id(2)] bool More,
    [property: Id(3)] long Dropped,
    [property: Id(4)] DateTimeOffset Since,
    [property: Id(5)] RunState State);

/// <summary>The bounds on run logs, on the worker, in a report and in the run grain.</summary>
public static class RunLogLimits
{
    /// <summary>Lines the run grain keeps per run (the oldest go first)...</summary>
    public const int MaxLines = 5_000;
    /// <summary>... and the characters of their messages, together.</summary>
    public const int MaxChars = 1 << 20;
    /// <summary>A longer message is cut here, marked with an ellipsis.</summary>
    public const int MaxLineChars = 2_000;
    /// <summary>Lines a worker holds for one rank while the coordinator has not taken them (the oldest go first, counted).</summary>
    public const int MaxPending = 1_000;
    /// <summary>Lines in one page of <see cref="IRunGrain.GetLogsAsync"/>.</summary>
    public const int MaxPage = 1_000;

    /// <summary>The message cut to <see cref="MaxLineChars"/>, one line (newlines become spaces).</summary>
    public static string Clip(string message)
    {
        var one = message.ReplaceLineEndings(" ");
        return one.Length <= MaxLineChars ? one : string.Concat(one.AsSpan(0, MaxLineChars - 1), "…");
    }
}
