namespace Orchestrator.Contracts.Runs;

/// <summary>
/// Elapsed time, the recent step rate and the ETA of a run, from its status alone (what `run status`, watch views and
/// the JSON show). The rate is over the reports of the last <see cref="RateWindow"/> of the current attempt (a
/// restart from a checkpoint starts a new stretch of history), so one fast or slow report does not swing the ETA.
/// </summary>
public static class RunProgress
{
    public static readonly TimeSpan RateWindow = TimeSpan.FromSeconds(30);

    /// <summary>Wall time since the run started training (to its end once it ended); null before it started.</summary>
    public static TimeSpan? Elapsed(RunStatus s, DateTimeOffset now) =>
        s.StartedAt is { } start ? (s.EndedAt ?? now) - start : null;

    /// <summary>Optimizer steps per second over the recent reports; null with none to go on.</summary>
    public static double? StepsPerSecond(RunStatus s)
    {
        var h = s.History;
        if (h.IsDefaultOrEmpty) return null;
        var last = h[^1];
        int first = h.Length - 1;
        // Back over the reports of this attempt (steps rising) within the window.
        while (first > 0 && h[first - 1].Step < h[first].Step && last.At - h[first - 1].At <= RateWindow) first--;
        double seconds = (last.At - h[first].At).TotalSeconds;
        if (first < h.Length - 1 && seconds > 0) return (last.Step - h[first].Step) / seconds;
        return last.StepSeconds > 0 ? 1 / last.StepSeconds : null;
    }

    /// <summary>Time left at the recent rate; zero once the run ended, null while it cannot be told.</summary>
    public static TimeSpan? Eta(RunStatus s)
    {
        if (s.State.IsFinal()) return TimeSpan.Zero;
        if (StepsPerSecond(s) is not double rate || rate <= 0) return null;
        return TimeSpan.FromSeconds(Math.Max(0, s.TotalSteps - s.Step) / rate);
    }

    /// <summary>h:mm:ss (or m:ss under an hour); "-" for none.</summary>
    public static string Format(TimeSpan? t) => t is not { } v ? "-"
        : v.TotalHours >= 1 ? $"{(int)v.TotalHours}:{v.Minutes:D2}:{v.Seconds:D2}" : $"{v.Minutes}:{v.Seconds:D2}";
}
