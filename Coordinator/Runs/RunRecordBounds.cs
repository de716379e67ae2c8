using System.Collections.Immutable;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Coordinator.Runs;

/// <summary>
/// Keeps a run's stored record bounded however long it trains: its metric history and its event list have caps,
/// and what goes past a cap is chosen so that what a report or a reader needs most stays (validation points,
/// membership events). Pure functions over the record.
/// </summary>
public static class RunRecordBounds
{
    /// <summary>Metric points kept in a run's history.</summary>
    public const int MaxHistory = 512;
    /// <summary>Membership and checkpoint events kept (older checkpoint events go first).</summary>
    public const int MaxEvents = 256;

    /// <summary>Past the cap the oldest checkpoint event goes (membership events are rarer and tell more), else the oldest.</summary>
    public static ImmutableArray<RunEvent> CapEvents(ImmutableArray<RunEvent> events)
    {
        while (events.Length > MaxEvents)
        {
            int i = 0;
            while (i < events.Length && events[i].Kind != RunEventKind.Checkpoint) i++;
            events = events.RemoveAt(i < events.Length ? i : 0);
        }
        return events;
    }

    /// <summary>
    /// Keeps the history bounded: past the cap, every other old point goes (the newest half stays dense), except points
    /// that carry a validation loss (rare, and the only record of it a sweep report's val curve has), unless keeping them
    /// would leave the history over the cap (validation at most reports): then every other old point goes regardless.
    /// </summary>
    public static ImmutableArray<MetricPoint> Thin(ImmutableArray<MetricPoint> h)
    {
        if (h.Length <= MaxHistory) return h;
        int half = h.Length / 2;
        var older = h.Take(half).Where((p, i) => i % 2 == 0 || p.ValLoss is not null).ToList();
        if (older.Count + h.Length - half > MaxHistory) older = [.. h.Take(half).Where((_, i) => i % 2 == 0)];
        return [.. older, .. h.Skip(half)];
    }
}
