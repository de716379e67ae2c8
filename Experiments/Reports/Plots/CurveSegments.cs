namespace Orchestrator.Experiments.Reports.Plots;

/// <summary>One sample of a curve: the step it was logged at, the steps it covers (its window), and where it is drawn.</summary>
public readonly record struct Sample(int Step, int Window, double X, double Y);

/// <summary>
/// Splits a logged curve into the runs of samples that may be joined by a line. Invariant: a line never crosses steps
/// that no sample covers. A run's history is thinned as it grows (older reports dropped, every other one), restarts
/// repeat steps, and validation runs only every few steps; a line across such a gap would be a chord that shows a loss
/// nobody measured. Two neighbours are joined only when the later one follows the earlier by at most the sampling
/// step: the later sample's window where it is recorded (> 1), otherwise the smallest spacing in the curve (the
/// logging interval, which the newest, never thinned, reports keep). A step that does not rise (a restart from a
/// checkpoint) also starts a new segment. A segment of one sample is drawn as a point.
/// </summary>
public static class CurveSegments
{
    public static IReadOnlyList<IReadOnlyList<Sample>> Split(IReadOnlyList<Sample> samples)
    {
        var segments = new List<IReadOnlyList<Sample>>();
        if (samples.Count == 0) return segments;
        int baseStep = BaseStep(samples);
        var current = new List<Sample> { samples[0] };
        for (int i = 1; i < samples.Count; i++)
        {
            var (prev, s) = (samples[i - 1], samples[i]);
            int allowed = s.Window > 1 ? s.Window : baseStep;
            if (s.Step <= prev.Step || s.Step - prev.Step > allowed)
            {
                segments.Add(current);
                current = [];
            }
            current.Add(s);
        }
        segments.Add(current);
        return segments;
    }

    /// <summary>The smallest rise in step between neighbours (1 when no two rise).</summary>
    public static int BaseStep(IReadOnlyList<Sample> samples)
    {
        int best = int.MaxValue;
        for (int i = 1; i < samples.Count; i++)
        {
            int d = samples[i].Step - samples[i - 1].Step;
            if (d > 0 && d < best) best = d;
        }
        return best == int.MaxValue ? 1 : best;
    }

    /// <summary>
    /// Exponential moving average in steps, not in samples (thinned samples are further apart, and weigh the past
    /// less): s_0 = y_0, s_i = s_{i−1} + (1 − e^{−Δstep/τ}) (y_i − s_{i−1}). Restarted at each segment, so a smoothed
    /// line never carries a value across a gap either.
    /// </summary>
    public static IReadOnlyList<Sample> Ema(IReadOnlyList<Sample> segment, double tauSteps)
    {
        if (!(tauSteps > 0)) throw new ArgumentOutOfRangeException(nameof(tauSteps), tauSteps, "EMA time constant must be > 0 steps");
        var smoothed = new List<Sample>(segment.Count);
        double s = 0;
        for (int i = 0; i < segment.Count; i++)
        {
            s = i == 0 ? segment[0].Y : s + (1 - Math.Exp(-(segment[i].Step - segment[i - 1].Step) / tauSteps)) * (segment[i].Y - s);
            smoothed.Add(segment[i] with { Y = s });
        }
        return smoothed;
    }
}
