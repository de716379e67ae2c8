using Orchestrator.Contracts.Runs;

namespace Orchestrator.Dashboard.Documents;

/// <summary>
/// A run's log lines as `orch run logs ID --json` prints them: the run, its state, how many older lines the
/// coordinator's ring had dropped before the first one here, the sequence number to ask after for newer lines, and
/// the lines (each `seq`, `at`, `rank`, `worker_id`, `level`, `message`).
/// </summary>
public sealed record RunLogsJson(string RunId, string State, long Dropped, long Next, IReadOnlyList<RunLogLine> Lines);
