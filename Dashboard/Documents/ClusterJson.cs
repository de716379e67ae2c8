namespace Orchestrator.Dashboard.Documents;

/// <summary>
/// The cluster at a glance, as `orch cluster status --json` prints it and /api/cluster serves it: the coordinator's
/// health (from Orleans membership: status, start, last heartbeat), every silo process, the workers, and how many
/// runs and sweeps are in each state.
/// </summary>
public sealed record ClusterJson(
    SiloJson? Coordinator, IReadOnlyList<SiloJson> Silos, IReadOnlyList<WorkerJson> Workers,
    IReadOnlyDictionary<string, int> Runs, IReadOnlyDictionary<string, int> Sweeps);

/// <summary>Status: Active, Joining, ShuttingDown, Dead... (Orleans SiloStatus). UptimeSeconds counts from StartedAt to the heartbeat.</summary>
public sealed record SiloJson(string Name, string Address, string Host, string Status, DateTimeOffset StartedAt,
    DateTimeOffset LastHeartbeat, double UptimeSeconds);
