namespace Orchestrator.Experiments.Fitting;

/// <summary>
/// A two-sided interval; here the 2.5th and 97.5th bootstrap percentiles (95%). Risk: a degenerate fit's resamples can
/// all be non-finite (A = e^a overflows, a resampled optimum divides by 0); that interval is <see cref="Undefined"/>
/// (NaN bounds, <see cref="IsDefined"/> false) rather than an exception, and readers say so instead of printing bounds:
/// <see cref="FitIdentification"/> names it as a reason the fit is not identified.
/// </summary>
public readonly record struct Interval(double Lower, double Upper)
{
    /// <summary>No finite value to take an interval of: the data do not bound this quantity at all.</summary>
    public static Interval Undefined { get; } = new(double.NaN, double.NaN);

    public bool IsDefined => double.IsFinite(Lower) && double.IsFinite(Upper);

    public bool Contains(double x) => x >= Lower && x <= Upper;

    /// <summary>"[lower, upper]" in <paramref name="format"/>, or "undefined" when no resample was finite.</summary>
    public string Format(string format) =>
        IsDefined ? $"[{Lower.ToString(format)}, {Upper.ToString(format)}]" : "undefined (no resample finite)";

    /// <summary>
    /// Percentile interval of the finite <paramref name="values"/> at 1 − <paramref name="level"/> two-sided, linear
    /// interpolation; <see cref="Undefined"/> when none is finite.
    /// </summary>
    public static Interval Percentile(IEnumerable<double> values, double level = 0.95)
    {
        var sorted = values.Where(double.IsFinite).Order().ToArray();
        if (sorted.Length == 0) return Undefined;
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
