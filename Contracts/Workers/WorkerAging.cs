using System.Collections.Immutable;

namespace Orchestrator.Contracts.Workers;

/// <summary>
/// Which registered workers a listing shows: the live ones and those lost within <see cref="LostShownFor"/> (by the
/// coordinator's clock, which stamped <see cref="WorkerInfo.LostAt"/>); older losses age out of `orch workers list`
/// and the dashboard, and `--all` shows them. Invariant: the registry keeps at most <see cref="MaxLostKept"/> lost
/// workers (the longest lost go first), so workers that come and go under new names cannot grow it without bound.
/// </summary>
public static class WorkerAging
{
    public static readonly TimeSpan LostShownFor = TimeSpan.FromMinutes(10);
    public const int MaxLostKept = 1_000;

    /// <summary>Whether a listing at <paramref name="now"/> shows this worker without --all.</summary>
    public static bool Shown(WorkerInfo w, DateTimeOffset now) =>
        w.State != WorkerState.Lost || w.LostAt is not { } at || now - at <= LostShownFor;

    /// <summary>The workers shown at <paramref name="now"/>, in the given order.</summary>
    public static ImmutableArray<WorkerInfo> Recent(IEnumerable<WorkerInfo> workers, DateTimeOffset now) =>
        [.. workers.Where(w => Shown(w, now))];

    /// <summary>The ids of lost workers past <see cref="MaxLostKept"/>, the longest lost first: the registry forgets them.</summary>
    public static IEnumerable<string> Forgotten(IEnumerable<WorkerInfo> workers) =>
        workers.Where(w => w.State == WorkerState.Lost).OrderByDescending(w => w.LostAt ?? DateTimeOffset.MinValue)
            .ThenBy(w => w.Id, StringComparer.Ordinal).Skip(MaxLostKept).Select(w => w.Id);
}
