using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Orchestrator.Coordinator.Hosting;

/// <summary>
/// A worker silo's fatal-error handler. Orleans ends a silo's process (Environment.FailFast) when its membership
/// cannot go on: it was declared dead, or the development membership table it read went back in version because
/// the coordinator that held it restarted. A worker process has training to keep and a coordinator to rejoin, so
/// here the silo's end is only recorded; the worker's supervisor pauses its runs with a checkpoint, stops this silo
/// and joins again with a new one. Risk: after such an error the silo must not be used for anything but stopping;
/// the supervisor checks <see cref="Reason"/> every second.
/// </summary>
public sealed partial class MembershipLoss(ILogger<MembershipLoss> log) : IFatalErrorHandler
{
    volatile string? reason;

    /// <summary>Why this silo's membership ended (null while it holds).</summary>
    public string? Reason => reason;

    public bool IsUnexpected(Exception exception) => true;

    public void OnFatalException(object? sender = null, string? context = null, Exception? exception = null)
    {
        var why = exception?.GetBaseException().Message ?? context ?? "a fatal membership error";
        reason ??= why.ReplaceLineEndings(" ").Trim();
        LogLost(sender?.GetType().Name ?? "silo", reason);
    }

    [LoggerMessage(LogLevel.Warning, "this worker's cluster membership ended ({Sender}: {Reason}); it will rejoin")]
    partial void LogLost(string sender, string reason);
}
