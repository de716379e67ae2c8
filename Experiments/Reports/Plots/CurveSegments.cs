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
    /// Centred moving mean: each sample becomes the mean of itself and the k samples on either side, k the most that lie
    /// within ±h steps on both sides (so the window is symmetric in steps and in samples, and shrinks to nothing at a
    /// segment's ends, where there is no other side). Unlike an EMA it does not lag a falling loss (a lagging curve would
    /// sit above the raw all through the early drop, and a WSD branch point would float off it); unevenly spaced samples
    /// (the first report, a thinned stretch) are not pulled toward their denser side. Per segment: never across a gap.
    /// </summary>
    public static IReadOnlyList<Sample> CentredMean(IReadOnlyList<Sample> segment, int halfWidthSteps)
    {
        if (halfWidthSteps < 0) throw new ArgumentOutOfRangeException(nameof(halfWidthSteps), halfWidthSteps, "smoothing half-width must be >= 0 steps");
        var smoothed = new List<Sample>(segment.Count);
        if (segment.Count == 0) return smoothed;
        for (int i = 0; i < segment.Count; i++)
        {
            int step = segment[i].Step, left = 0, right = 0;
            while (i - left > 0 && segment[i - left - 1].Step >= step - halfWidthSteps) left++;
            while (i + right + 1 < segment.Count && segment[i + right + 1].Step <= step + halfWidthSteps) right++;
            int k = Math.Min(left, right);
            double sum = 0;
            for (int j = i - k; j <= i + k; j++) sum += segment[j].Y;
            smoothed.Add(segment[i] with { Y = sum / (2 * k + 1) });
        }
        return smoothed;
    }
}
