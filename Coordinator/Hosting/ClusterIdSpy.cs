using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace Orchestrator.Coordinator.Hosting;

/// <summary>
/// Notices, while a client connects, that the gateway refused it for asking for another cluster. Orleans checks the
/// cluster id in the connection preamble: the gateway reads the client's preamble, finds another id and closes the
/// connection before sending its own, so all the client sees is "Connection terminated prematurely" while reading
/// the preamble, logged, then retried until its start times out. This logger provider (the client's only one) turns
/// the first such refusal into an answer at once.
/// Risk: it reads Orleans' log text; if that wording changes, a mismatch is reported as an unreachable coordinator
/// after the connect timeout, never as a wrong connection (the gateway still refuses).
/// </summary>
sealed partial class ClusterIdSpy(string asked) : ILoggerProvider
{
    readonly TaskCompletionSource<string?> refused = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the gateway refused the preamble: with the id it serves when the log names it, else null.</summary>
    public Task<string?> Refused => refused.Task;

    public ILogger CreateLogger(string categoryName) => new Spy(this);

    public void Dispose() { }

    void Look(Exception e)
    {
        if (e.Message.Contains("Connection terminated prematurely", StringComparison.Ordinal)
            && e.StackTrace?.Contains("ConnectionPreamble", StringComparison.Ordinal) == true)
            refused.TrySetResult(null);
        Look(e.Message);
    }

    void Look(string text)
    {
        foreach (Match m in Preamble().Matches(text))
        {
            // The client says 'Unexpected cluster id "<gateway's>", expected "<ours>"'; the gateway the reverse.
            string a = m.Groups[1].Value, b = m.Groups[2].Value;
            if (b == asked && a != asked) refused.TrySetResult(a);
            else if (a == asked && b != asked) refused.TrySetResult(b);
        }
    }

    [GeneratedRegex("Unexpected cluster id \"([^\"]*)\", expected \"([^\"]*)\"")]
    private static partial Regex Preamble();

    sealed class Spy(ClusterIdSpy owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && !owner.refused.Task.IsCompleted;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            owner.Look(formatter(state, exception));
            for (var e = exception; e is not null; e = e.InnerException) owner.Look(e);
        }
    }
}
