namespace Orchestrator.Experiments.Fitting;

public enum FitVerdictKind { Identified, NotIdentified, NotJudged }

/// <summary>Whether the data determine the law, and each reason in words when they do not.</summary>
public sealed record FitVerdict(FitVerdictKind Kind, IReadOnlyList<string> Reasons)
{
    public bool Identified => Kind == FitVerdictKind.Identified;

    public string Headline => Kind switch
    {
        FitVerdictKind.Identified => "The fit is identified: the data determine every parameter (95% intervals narrow, E inside its range, at least 3 token budgets per size, sizes over 10x).",
        FitVerdictKind.NotIdentified => "The fit is NOT identified: the data do not determine the law, so its numbers are not a result.",
        _ => "Identification not judged: the fit has no bootstrap intervals (fit again with resamples, e.g. --bootstrap 1000).",
    };
}

/// <summary>
/// Says whether a Chinchilla fit is identified, instead of printing a law whose parameters the data do not pin down
/// (a 95% interval for A of [2.5, 1.3e26] is not a result). The checks:
/// - α and β: 95% interval half-width at most <see cref="MaxExponentHalfWidth"/> and at most half the value;
/// - A and B: 95% interval within a factor <see cref="MaxScaleRatio"/>;
/// - E not at its bound: above 1% of the lowest loss seen (the LSE parametrisation's floor is 0) and below that loss;
/// - the design: at least 3 token budgets per model size (else B/D^β and E trade off) and sizes spanning 10x;
/// - every parameter has an interval at all (a degenerate fit's resamples can all be non-finite: <see cref="Interval.Undefined"/>).
/// The design checks need no intervals; the rest need bootstrap resamples.
/// </summary>
public static class FitIdentification
{
    public const double MaxExponentHalfWidth = 0.1;
    public const double MaxScaleRatio = 1e3;
    public const int MinBudgetsPerSize = 3;
    public const double MinSizeSpan = 10;

    public static FitVerdict Judge(ChinchillaFit fit, IReadOnlyList<ScalingPoint> points)
    {
        var reasons = new List<string>();
        var law = fit.Law;
        double minLoss = points.Min(p => p.Loss);

        var sizes = points.GroupBy(p => p.N).OrderBy(g => g.Key).ToList();
        double span = sizes[^1].Key / sizes[0].Key;
        if (span < MinSizeSpan)
            reasons.Add($"model sizes span only {span:G3}x ({sizes[0].Key:G3} to {sizes[^1].Key:G3}); at least {MinSizeSpan:G}x is needed to pin α");
        var thin = sizes.Where(g => g.Select(p => p.D).Distinct().Count() < MinBudgetsPerSize).ToList();
        if (thin.Count > 0)
            reasons.Add($"{thin.Count} of {sizes.Count} model sizes have fewer than {MinBudgetsPerSize} token budgets (e.g. N = {thin[0].Key:G3} has {thin[0].Select(p => p.D).Distinct().Count()}); B/D^β and E cannot be told apart without 3 per size");
        if (law.E < 0.01 * minLoss)
            reasons.Add($"E fits to {law.E:G3}, at its lower bound 0: the runs are too far above the irreducible loss to locate it");
        else if (law.E >= minLoss * 0.999)
            reasons.Add($"E fits to {law.E:G4}, at or above the lowest loss seen ({minLoss:G4}): the law has no room to fall");

        if (fit.Intervals is not { } ci)
            return new FitVerdict(reasons.Count > 0 ? FitVerdictKind.NotIdentified : FitVerdictKind.NotJudged, reasons);

        Exponent("α", law.Alpha, ci.Alpha);
        Exponent("β", law.Beta, ci.Beta);
        Scale("A", ci.A);
        Scale("B", ci.B);
        if (!ci.E.IsDefined)
            Undefined("E");
        else if (law.E >= 0.01 * minLoss && ci.E.Lower < 0.01 * minLoss)
            reasons.Add($"E's 95% interval [{ci.E.Lower:G3}, {ci.E.Upper:G3}] reaches its lower bound 0");
        return new FitVerdict(reasons.Count == 0 ? FitVerdictKind.Identified : FitVerdictKind.NotIdentified, reasons);

        void Undefined(string name) =>
            reasons.Add($"{name} has no 95% interval: none of the {fit.BootstrapLaws.Count} bootstrap resamples gives it a finite value");

        void Exponent(string name, double value, Interval i)
        {
            if (!i.IsDefined) { Undefined(name); return; }
            double half = (i.Upper - i.Lower) / 2;
            if (half > MaxExponentHalfWidth || half > 0.5 * Math.Abs(value))
                reasons.Add($"{name} = {value:G3} has a 95% interval [{i.Lower:G3}, {i.Upper:G3}], ±{half:G2} wide ({100 * half / Math.Abs(value):F0}% of the value; at most ±{MaxExponentHalfWidth:G} and 50% to count)");
        }

        void Scale(string name, Interval i)
        {
            if (!i.IsDefined) { Undefined(name); return; }
            double ratio = i.Upper / i.Lower;
            if (!(ratio <= MaxScaleRatio))
                reasons.Add($"{name}'s 95% interval [{i.Lower:G3}, {i.Upper:G3}] spans a factor of {ratio:G2} (at most {MaxScaleRatio:G} to count)");
        }
    }
}
