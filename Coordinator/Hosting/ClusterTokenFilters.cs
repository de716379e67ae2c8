using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Cluster;
using Orleans.Runtime;

namespace Orchestrator.Coordinator.Hosting;

/// <summary>
/// The cluster token on the wire: an outgoing grain call filter on every client and silo puts it into the call's
/// RequestContext, and an incoming filter on every silo refuses any call to a grain that does not carry it, before
/// the grain method runs (so nothing it asked for happens), with <see cref="ClusterTokenRefusedException"/>.
/// Invariant: every call this process makes carries the token, whatever started it (a console, a grain, a grain
/// timer, a hosted service, the dashboard), because the outgoing filter sets it on each one. Exempt from the check
/// are only calls no remote caller can make as they arrive: Orleans' system targets (membership, directory) and the
/// tick a grain timer posts to its own grain (an object that is never serialized).
/// Risk: system targets are not guarded, so the token authenticates what clients and workers ask of the cluster,
/// not Orleans' silo-to-silo protocol: silo ports belong on a private network (docs/ARCHITECTURE.md, "Security").
/// </summary>
public static class ClusterTokenFilters
{
    /// <summary>RequestContext key of the token.</summary>
    public const string Key = "orch.token";
    /// <summary>RequestContext key of the calling process as it describes itself (host and pid), for refusal logs.</summary>
    public const string CallerKey = "orch.caller";

    /// <summary>A silo: sends the token on its calls and refuses calls without it.</summary>
    public static ISiloBuilder AddClusterToken(this ISiloBuilder silo, ClusterToken token)
    {
        silo.AddOutgoingGrainCallFilter(new OutgoingTokenFilter(token));
        silo.Services.AddSingleton(sp => new IncomingTokenFilter(token, sp.GetRequiredService<ILogger<IncomingTokenFilter>>()));
        silo.Services.AddSingleton<IIncomingGrainCallFilter>(sp => sp.GetRequiredService<IncomingTokenFilter>());
        return silo;
    }

    /// <summary>A client: sends the token (none: its calls are refused with the message that says how to give one).</summary>
    public static IClientBuilder AddClusterToken(this IClientBuilder client, ClusterToken? token) =>
        client.AddOutgoingGrainCallFilter(new OutgoingTokenFilter(token));
}

/// <summary>Puts the token (and who calls) into every outgoing call's RequestContext.</summary>
sealed class OutgoingTokenFilter(ClusterToken? token) : IOutgoingGrainCallFilter
{
    static readonly string Caller = $"{Environment.MachineName} pid {Environment.ProcessId}";

    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        // Set inside this async method, so the values apply to this call (and what it starts) and never leak back
        // into the caller's own context.
        if (token is not null) RequestContext.Set(ClusterTokenFilters.Key, token.Value);
        RequestContext.Set(ClusterTokenFilters.CallerKey, Caller);
        await context.Invoke();
    }
}

/// <summary>
/// Refuses a grain call without the token; logs refusals at most one line per caller per 10 s, with a count of the
/// rest (a new caller is always logged; the table of callers is bounded and cleared when full).
/// </summary>
sealed partial class IncomingTokenFilter(ClusterToken token, ILogger<IncomingTokenFilter> log) : IIncomingGrainCallFilter
{
    const long LogEveryMs = 10_000;
    const int MaxCallers = 1024;
    readonly Lock gate = new();
    readonly Dictionary<string, (long LastLogged, int Unlogged)> callers = [];

    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (IsExempt(context) || token.Matches(RequestContext.Get(ClusterTokenFilters.Key) as string)) return context.Invoke();
        Note(context);
        return Task.FromException(new ClusterTokenRefusedException());
    }

    /// <summary>System targets, and a grain timer's tick (posted locally by the timer; never deserialized from a peer).</summary>
    static bool IsExempt(IIncomingGrainCallContext context) =>
        context.TargetId.IsSystemTarget() || context.Request.GetType().FullName == "Orleans.Runtime.GrainTimer+TimerTickInvoker";

    void Note(IIncomingGrainCallContext context)
    {
        var caller = RequestContext.Get(ClusterTokenFilters.CallerKey) as string ?? "a client without orch's filter";
        var source = context.SourceId?.ToString() ?? "unknown";
        int more;
        lock (gate)
        {
            long now = Environment.TickCount64;
            var key = caller + " " + source;
            if (callers.TryGetValue(key, out var seen) && now - seen.LastLogged < LogEveryMs)
            {
                callers[key] = seen with { Unlogged = seen.Unlogged + 1 };
                return;
            }
            if (callers.Count >= MaxCallers) callers.Clear();
            more = seen.Unlogged;
            callers[key] = (now, 0);
        }
        LogRefused(context.InterfaceName, context.MethodName, source, caller,
            RequestContext.Get(ClusterTokenFilters.Key) is null ? "no token" : "a wrong token", more);
    }

    [LoggerMessage(LogLevel.Warning, "refused a grain call with {What}: {Interface}.{Method} from {Source} ({Caller}); {More} more from it since its last such line")]
    partial void LogRefused(string @interface, string method, string source, string caller, string what, int more);
}
