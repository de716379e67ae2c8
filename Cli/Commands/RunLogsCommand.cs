using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Orchestrator.Cli.Hosting;
using Orchestrator.Contracts.Runs;
using Orchestrator.Coordinator.Hosting;
using Orchestrator.Dashboard.Documents;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// `orch run logs ID [-f]`: the lines a run's ranks logged, read from the run grain's in-memory ring through the
/// control plane (the console need not see the workers' machines). Follows by sequence number: each poll asks for
/// the lines after the last one printed, so nothing is printed twice or skipped while the ring holds it; a ring that
/// restarted (its Since changed) is read again from its start, said on stderr. A coordinator that stops answering is
/// asked again for <see cref="RunView.WatchReconnect"/>, as a watch does, then the follow says it is gone.
/// </summary>
static class RunLogsCommand
{
    static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);
    static readonly JsonSerializerOptions JsonLines = new(ApiJson.Options) { WriteIndented = false };

    public static Command Create()
    {
        var id = new Argument<string>("ID") { Description = "Run id, a unique prefix of one, or a run's name" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new lines (polled every second) until the run ends, then exit 0; Ctrl-C stops sooner" };
        var rank = new Option<int?>("--rank") { Description = "Only this rank's lines (--rank 0: rank 0's)" };
        var tail = new Option<int?>("--tail") { Description = $"Only the last N lines (1..{RunLogLimits.MaxLines}); with -f, then the new ones" };
        var cmd = new Command("logs",
            $"The lines a run's workers logged while training it, every rank's, each with its time, rank, worker and level. The " +
            $"coordinator keeps the last {RunLogLimits.MaxLines:N0} lines or {RunLogLimits.MaxChars / (1 << 20)} MiB of them per run, in memory only " +
            "(a restarted coordinator has none)")
            { id, follow, rank, tail, ConsoleOptions.Json, ConsoleOptions.Coordinator, ConsoleOptions.Cluster, ConsoleOptions.Redis };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            var query = new RunLogQuery { Rank = pr.GetValue(rank), Tail = pr.GetValue(tail) };
            query.Validate(); // bad flags fail before any connection
            using var host = await ConsoleOptions.ConnectAsync(pr, ct);
            var client = host.Client();
            var runId = await RunCommands.RunIdAsync(client, pr.GetValue(id)!);
            bool json = pr.GetValue(ConsoleOptions.Json);
            if (!pr.GetValue(follow)) return await PrintAsync(client, runId, query, json, ct);
            try { await FollowAsync(client.GetGrain<IRunGrain>(runId), runId, query, json, ct); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { /* Ctrl-C: the user stopped following */ }
            return CliAction.Ok;
        });
        return cmd;
    }

    /// <summary>Every line held now (paged), as text or one JSON document.</summary>
    static async Task<int> PrintAsync(IGrainFactory client, string runId, RunLogQuery query, bool json, CancellationToken ct)
    {
        var logs = await ApiQueries.RunLogsAsync(client, runId, query, ct);
        if (json)
        {
            JsonOutput.Write(logs);
            return CliAction.Ok;
        }
        if (logs.Dropped > 0) Console.Out.WriteLine(DroppedLine(logs.Dropped));
        foreach (var l in logs.Lines) Console.Out.WriteLine(Text(l));
        if (logs.Lines.Count == 0) Console.Error.WriteLine($"run {runId} ({logs.State}) has no log lines{(query.Rank is int r ? $" from rank {r}" : "")} yet");
        return CliAction.Ok;
    }

    /// <summary>Prints what is there, then every new line as it arrives, until the run ended (one more poll after that for its last lines).</summary>
    static async Task FollowAsync(IRunGrain grain, string runId, RunLogQuery query, bool json, CancellationToken ct)
    {
        var q = query;
        DateTimeOffset? since = null;
        bool endSeen = false;
        var patience = new CoordinatorPatience(RunView.WatchReconnect, $"following run {runId}'s log",
            $"`orch run logs {runId}` once it is back (a restarted coordinator holds only the lines logged since)");
        while (true)
        {
            RunLogPage page;
            try
            {
                page = await grain.GetLogsAsync(q).WaitAsync(TimeSpan.FromSeconds(5), ct);
                patience.Answered();
            }
            catch (Exception e) when (CoordinatorPatience.MayBeSilence(e))
            {
                patience.Silent(e);
                await Task.Delay(Poll, ct);
                continue;
            }
            if (since is { } known && known != page.Since)
            {
                Console.Error.WriteLine("the coordinator's copy of this run's log started again (a coordinator restart or a reactivation): reading it from its start");
                since = page.Since;
                q = q with { After = 0, Tail = null };
                continue;
            }
            since = page.Since;
            if (page.Dropped > 0)
            {
                if (json) Console.Error.WriteLine(DroppedLine(page.Dropped));
                else Console.Out.WriteLine(DroppedLine(page.Dropped));
            }
            foreach (var l in page.Lines) Console.Out.WriteLine(json ? JsonSerializer.Serialize(l, JsonLines) : Text(l));
            q = q with { After = page.Next, Tail = null };
            if (page.More) continue;
            if (page.State.IsFinal())
            {
                if (endSeen) return;
                endSeen = true;
            }
            await Task.Delay(Poll, ct);
        }
    }

    static string DroppedLine(long n) => $"… {n} earlier line{(n == 1 ? "" : "s")} dropped (the coordinator keeps the last {RunLogLimits.MaxLines:N0} lines or {RunLogLimits.MaxChars / (1 << 20)} MiB per run)";

    /// <summary>"2026-12-04T10:02:11.123Z rank 0 worker-1 INFO message".</summary>
    internal static string Text(RunLogLine l) =>
        $"{l.At.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)} rank {l.Rank} {l.WorkerId} {l.Level.ToUpperInvariant(),-5} {l.Message}";
}
