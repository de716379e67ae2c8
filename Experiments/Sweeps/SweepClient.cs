using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Experiments.Sweeps;

/// <summary>Launching and watching sweeps from any grain client (the CLI, quickstart, tests).</summary>
public static class SweepClient
{
    /// <summary>
    /// Plans the sweep and launches it under its content id (<see cref="IdOf"/>): launching a spec already launched
    /// finds that sweep (finished: nothing new trains; running: it goes on) instead of training it all again.
    /// </summary>
    public static Task<SweepStatus> LaunchSweepAsync(this IGrainFactory grains, SweepSpec spec, string? id = null)
    {
        var plan = Search.SearchProgress.Plan(spec);
        id ??= IdOf(spec);
        return grains.GetGrain<IExperimentGrain>(id).LaunchAsync(spec, plan);
    }

    /// <summary>
    /// The sweep's id: its name and 8 hex digits of the SHA-256 of the spec (as JSON, every object's keys sorted, so
    /// dictionary order does not matter). The same spec gives the same id on any machine; any change gives another.
    /// </summary>
    public static string IdOf(SweepSpec spec)
    {
        var canonical = Canonical(JsonSerializer.SerializeToNode(spec));
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(canonical?.ToJsonString() ?? "null"));
        return $"{spec.Name}-{Convert.ToHexStringLower(hash)[..8]}";
    }

    static JsonNode? Canonical(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, Canonical(kv.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Canonical)]),
        _ => node?.DeepClone(),
    };

    public static Task<SweepStatus> ResumeSweepAsync(this IGrainFactory grains, string id) =>
        grains.GetGrain<IExperimentGrain>(id).ResumeAsync();

    public static Task<SweepStatus> CancelSweepAsync(this IGrainFactory grains, string id, string reason) =>
        grains.GetGrain<IExperimentGrain>(id).CancelAsync(reason);

    public static Task<SweepStatus> GetSweepStatusAsync(this IGrainFactory grains, string id) =>
        grains.GetGrain<IExperimentGrain>(id).GetStatusAsync();

    /// <summary>
    /// Yields the status every <paramref name="poll"/> until the sweep is final (the final status too). With
    /// <paramref name="reconnectFor"/>, a coordinator that stops answering is asked again until it has been silent that
    /// long (<see cref="CoordinatorPatience"/>), then <see cref="CoordinatorGoneException"/> says so.
    /// </summary>
    public static IAsyncEnumerable<SweepStatus> WatchSweepAsync(this IGrainFactory grains, string id, TimeSpan? poll = null,
        CancellationToken ct = default, TimeSpan? reconnectFor = null)
    {
        var grain = grains.GetGrain<IExperimentGrain>(id);
        var patience = reconnectFor is { } grace ? new CoordinatorPatience(grace, $"watching sweep {id}",
            $"`orch sweep status {id}` once it is back (the sweep goes on without the watch; an --ephemeral coordinator has no record of it after a restart)") : null;
        return CoordinatorPatience.PollAsync(grain.GetStatusAsync, s => s.IsFinal, poll ?? TimeSpan.FromSeconds(1), patience, ct);
    }
}
