using Orchestrator.Experiments.Fitting;
using Orchestrator.Experiments.Reports;

namespace Orchestrator.Dashboard.Documents;

/// <summary>
/// What a sweep's completed runs say, as `orch sweep analysis ID --json` prints it and /api/sweeps/ID/analysis serves it:
/// the fitted L(N, D) (<see cref="FitDocument"/>: E, A, B, alpha, beta, intervals, compute_optimal), each run's final loss
/// beside the law's prediction, the law along N for each token budget (or FLOP budget) with its 95% bootstrap band,
/// the IsoFLOP parabolas and minima, Kaplan's single-axis laws and the notes on what could not be fitted.
/// </summary>
public sealed record SweepAnalysisJson(
    string Sweep, int Bootstrap, int Completed, Dictionary<string, object?>? Fit, IReadOnlyList<FitPointJson> Points,
    IReadOnlyList<LawCurveJson> Curves, IReadOnlyList<IsoFlopJson> Isoflop, double? NExponent, double? DExponent,
    IReadOnlyList<PowerLawJson> LossVsN, IReadOnlyList<string> Notes)
{
    /// <summary>Points along each curve (evenly spaced in ln N over the sizes tried, a little beyond each end).</summary>
    const int CurvePoints = 40;

    public static SweepAnalysisJson From(string sweepId, int bootstrap, SweepAnalysis a)
    {
        var fit = a.Chinchilla;
        var done = a.Completed;
        var points = done.Select(r =>
        {
            double? predicted = fit?.Law.Predict(r.N, r.D);
            return new FitPointJson(r.Key, r.N, r.D, r.FlopBudget, r.FinalLoss!.Value, predicted, predicted is { } p ? r.FinalLoss.Value - p : null);
        }).ToList();

        var curves = new List<LawCurveJson>();
        if (fit is not null && done.Count > 0)
        {
            double lo = Math.Log(done.Min(r => r.N) / 1.5), hi = Math.Log(done.Max(r => r.N) * 1.5);
            var ns = Enumerable.Range(0, CurvePoints).Select(i => Math.Exp(lo + (hi - lo) * i / (CurvePoints - 1))).ToArray();
            foreach (var d in done.Where(r => r.FlopBudget is null).Select(r => r.D).Distinct().Order())
                curves.Add(Curve("tokens", d, ns, fit, n => d));
            foreach (var c in done.Where(r => r.FlopBudget is not null).Select(r => r.FlopBudget!.Value).Distinct().Order())
                curves.Add(Curve("flops", c, ns, fit, n => c / (6 * n)));
        }

        var iso = a.IsoFlop?.Minima.Select(m => new IsoFlopJson(m.Flops, m.OptimalN, m.OptimalD, m.Loss, m.Parabola, m.IsInterior)).ToList() ?? [];
        return new SweepAnalysisJson(sweepId, bootstrap, done.Count,
            fit is null ? null : FitDocument.Build(fit, a.Budgets), points, curves, iso, a.IsoFlop?.NExponent, a.IsoFlop?.DExponent,
            [.. a.LossVsN.Select(p => new PowerLawJson(p.Axis, p.Scale, p.Exponent, p.RSquared, p.Points))], a.Notes);
    }

    /// <summary>The law along N at a fixed D (or fixed C, D = C/6N), with the 2.5/97.5 percentiles of the bootstrap laws.</summary>
    static LawCurveJson Curve(string kind, double value, double[] ns, ChinchillaFit fit, Func<double, double> dOf)
    {
        var loss = ns.Select(n => fit.Law.Predict(n, dOf(n))).ToArray();
        double[]? lower = null, upper = null;
        // A band only where every point has finite resampled predictions (a degenerate resample predicts NaN).
        if (fit.HasIntervals && ns.All(n => fit.BootstrapLaws.Any(l => double.IsFinite(l.Predict(n, dOf(n))))))
        {
            var bands = ns.Select(n => Interval.Percentile(fit.BootstrapLaws.Select(l => l.Predict(n, dOf(n))))).ToArray();
            lower = [.. bands.Select(b => b.Lower)];
            upper = [.. bands.Select(b => b.Upper)];
        }
        return new LawCurveJson(kind, value, ns, loss, lower, upper);
    }
}

/// <summary>A completed run: its final loss, the law's prediction at its (N, D) and the residual (loss − predicted).</summary>
public sealed record FitPointJson(string Key, long N, long D, double? FlopBudget, double Loss, double? Predicted, double? Residual);

/// <summary>Kind "tokens": Value is D; kind "flops": Value is the budget C. Lower/Upper: 95% band (null without bootstrap).</summary>
public sealed record LawCurveJson(string Kind, double Value, double[] N, double[] Loss, double[]? Lower, double[]? Upper);

public sealed record IsoFlopJson(double Flops, double OptimalN, double OptimalD, double Loss, double[] Parabola, bool Interior);
public sealed record PowerLawJson(string Axis, double Scale, double Exponent, double RSquared, int Points);
