namespace Orchestrator.Experiments.Fitting;

/// <summary>A two-sided interval; here the 2.5th and 97.5th bootstrap percentiles (95%).</summary>
public readonly record struct Interval(double Lower, double Upper)
{
    public bool Contains(double x) => x >= Lower && x <= Upper;

    /// <summary>Percentile interval of <paramref name="values"/> at 1 − <paramref name="level"/> two-sided, linear interpolation.</summary>
    public static Interval Percentile(IEnumerable<double> values, double level = 0.95)
    {
        var sorted = values.Where(double.IsFinite).Order().ToArray();
        if (sorted.Length == 0) throw new InvalidOperationException("no finite values to take an interval of");
        double tail = (1 - level) / 2;
        return new Interval(Quantile(sorted, tail), Quantile(sorted, 1 - tail));
    }

    static double Quantile(double[] sorted, double q)
    {
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }
}
