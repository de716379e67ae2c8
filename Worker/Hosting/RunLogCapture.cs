using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Worker.Hosting;

/// <summary>
/// A logger provider that keeps, per run and rank, the lines logged inside a run's scope (the training loop's
/// "run {RunId} rank {Rank} ..." scope, or any scope with RunId and Rank values) until the rank's next progress report
/// takes them to the run grain (<see cref="Take"/>). Lines outside such a scope are not its business (the console
/// provider prints every line as before). Invariant: bounded: at most <see cref="RunLogLimits.MaxPending"/> lines per
/// rank wait here (the oldest dropped and the drop told in a line of its own), each cut to the line limit, and at most
/// <see cref="MaxRanks"/> ranks have an entry (past it, entries with nothing waiting make room; a line for one more
/// rank with lines waiting is dropped), so a coordinator that is away for long costs bounded memory.
/// </summary>
public sealed class RunLogCapture : ILoggerProvider, ISupportExternalScope
{
    /// <summary>Ranks with lines waiting at once (several slots of this process, and a few ended runs' last words).</summary>
    public const int MaxRanks = 256;

    readonly ConcurrentDictionary<(string RunId, int Rank), Pending> pending = new();
    IExternalScopeProvider scopes = new LoggerExternalScopeProvider();

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => scopes = scopeProvider;

    public ILogger CreateLogger(string categoryName) => new Capturing(this);

    /// <summary>Whether lines of this run and rank wait to be sent.</summary>
    public bool HasLines(string runId, int rank) => pending.TryGetValue((runId, rank), out var p) && p.Count > 0;

    /// <summary>Takes the waiting lines of this run and rank (oldest first), with a line saying how many were dropped.</summary>
    public ImmutableArray<RunLogLine> Take(string runId, int rank) =>
        pending.TryGetValue((runId, rank), out var p) ? p.Take(rank) : [];

    public void Dispose() { }

    /// <summary>A mutable box for the scope walk (ForEachScope hands its state through).</summary>
    sealed class Found { public (string? RunId, int? Rank) Value; }

    void Record(LogLevel level, string message)
    {
        var box = new Found();
        scopes.ForEachScope(static (scope, acc) =>
        {
            if (scope is not IEnumerable<KeyValuePair<string, object?>> values) return;
            string? run = null;
            int? rank = null;
            foreach (var (k, v) in values)
            {
                if (k == "RunId") run = v?.ToString();
                else if (k == "Rank" && v is int r) rank = r;
            }
            if (run is not null && rank is not null) acc.Value = (run, rank); // the innermost run scope wins
        }, box);
        if (box.Value is not (string runId, int rank)) return;
        var key = (runId, rank);
        if (!pending.TryGetValue(key, out var p))
        {
            if (pending.Count >= MaxRanks) DropEmpty();
            if (pending.Count >= MaxRanks) return;
            p = pending.GetOrAdd(key, _ => new Pending());
        }
        p.Add(new RunLogLine(0, DateTimeOffset.UtcNow, rank, "", LevelName(level), RunLogLimits.Clip(message)));
    }

    /// <summary>
    /// Makes room for a new rank: entries whose lines were all taken go (ended runs' ranks; a running rank's comes back
    /// with its next line).
    /// </summary>
    void DropEmpty()
    {
        foreach (var entry in pending)
            if (entry.Value.Count == 0) pending.TryRemove(entry);
    }

    /// <summary>The short level names the console prints and the JSON carries.</summary>
    public static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "error",
        _ => "critical",
    };

    sealed class Capturing(RunLogCapture owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner.scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var message = formatter(state, exception);
            if (exception is not null) message += $": {exception.GetBaseException().GetType().Name}: {exception.GetBaseException().Message}";
            owner.Record(logLevel, message);
        }
    }

    /// <summary>One rank's waiting lines: a bounded queue and the count of those dropped since the last take.</summary>
    sealed class Pending
    {
        readonly Queue<RunLogLine> lines = new();
        long dropped;

        public int Count { get { lock (lines) return lines.Count + (dropped > 0 ? 1 : 0); } }

        public void Add(RunLogLine line)
        {
            lock (lines)
            {
                lines.Enqueue(line);
                while (lines.Count > RunLogLimits.MaxPending) { lines.Dequeue(); dropped++; }
            }
        }

        public ImmutableArray<RunLogLine> Take(int rank)
        {
            lock (lines)
            {
                var b = ImmutableArray.CreateBuilder<RunLogLine>(lines.Count + 1);
                if (dropped > 0)
                    b.Add(new RunLogLine(0, lines.TryPeek(out var first) ? first.At : DateTimeOffset.UtcNow, rank, "", "warn",
                        $"{dropped} log lines dropped on the worker: more than {RunLogLimits.MaxPending} waited for the coordinator"));
                b.AddRange(lines);
                lines.Clear();
                dropped = 0;
                return b.ToImmutable();
            }
        }
    }
}
