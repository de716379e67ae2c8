using System.Text.Json;
using Orchestrator.Contracts.Experiments;

namespace Orchestrator.Experiments.Sweeps;

/// <summary>
/// The experiment grain's persisted state: its status is the whole truth (plan, attempts, run ids, results). It is
/// kept as System.Text.Json text because grain storage providers serialize state with Newtonsoft.Json by default,
/// which cannot rebuild init-only records holding ImmutableArrays; a string round-trips through any provider.
/// </summary>
[GenerateSerializer, Alias("orch.ExperimentState")]
public sealed class ExperimentState
{
    [Id(0)] public string? StatusJson { get; set; }

    /// <summary>The stored status (null for a sweep never launched); <paramref name="sweepId"/> names it in errors.</summary>
    public SweepStatus? Read(string sweepId) => StatusJson is null ? null : StoredJson.ReadStatus(StatusJson, $"stored state of sweep '{sweepId}'");

    public void Write(SweepStatus status) => StatusJson = JsonSerializer.Serialize(status, SweepFolder.Json);
}

/// <summary>How often the grain polls its runs, and how often a running sweep's reminder ticks (tests shorten both).</summary>
public sealed record ExperimentOptions
{
    /// <summary>A finished run's slot waits at most this long for the sweep's next run (polling a run grain is cheap).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Period of the wake-up reminder: the longest a running sweep waits after a coordinator restart before it goes on
    /// by itself. Orleans refuses reminder periods under ReminderOptions.MinimumReminderPeriod (1 minute by default).
    /// </summary>
    public TimeSpan WakePeriod { get; init; } = TimeSpan.FromMinutes(1);
}
