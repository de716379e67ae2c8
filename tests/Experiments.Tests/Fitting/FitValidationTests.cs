using Orchestrator.Experiments.Fitting;
using Xunit.Abstractions;

namespace Orchestrator.Tests.Experiments.Fitting;

/// <summary>Hold-out and leave-one-out checks on data from a known law, and the identification verdict on fits that are and are not identified.</summary>
public sealed class FitValidationTests(ITestOutputHelper output)
{
    static readonly ChinchillaLaw Truth = ChinchillaLaw.Chinchilla;

    [Fact]
    public void The_law_fitted_without_the_largest_run_predicts_it_within_the_noise()
    {
        const double noise = 0.005; // log-normal, so a loss is off by about ±0.5% (1 sigma)
        var points = SyntheticScalingData.Grid(Truth, noise, seed: 11);
        var keys = points.Select((_, i) => $"run{i}").ToList();
        var held = FitValidation.Resolve(["largest"], keys, points);
        Assert.Equal([points.Count - 1], held); // the grid's largest N x D is its last point
        var check = FitValidation.Holdout(points, keys, held, new ChinchillaFitOptions { Bootstrap = 200 });
        var p = Assert.Single(check.Predictions);
        output.WriteLine($"predicted {p.Predicted:F4} [{p.PredictedInterval!.Value.Lower:F4}, {p.PredictedInterval.Value.Upper:F4}], actual {p.Point.Loss:F4}, truth {Truth.Predict(p.Point.N, p.Point.D):F4}");
        Assert.Equal(points.Count - 1, check.Fit.Points);
        // Within 3 sigma of the noise of the actual loss, and close to the noiseless truth.
        Assert.InRange(Math.Abs(p.RelativeError), 0, 3 * noise);
        Assert.InRange(Math.Abs(p.Predicted / Truth.Predict(p.Point.N, p.Point.D) - 1), 0, 2 * noise);

        var fit = ChinchillaFitter.Fit(points);
        var loo = FitValidation.LeaveOneOutErrors(points, keys, fit)!;
        output.WriteLine($"leave-one-out mean {loo.MeanAbsRelativeError:P2} worst {loo.Worst.RelativeError:P2}");
        Assert.Equal(points.Count, loo.Predictions.Count);
        Assert.InRange(loo.MeanAbsRelativeError, 0, 2 * noise);
    }

    [Fact]
    public void Bad_holdout_requests_are_refused_naming_the_problem()
    {
        var points = SyntheticScalingData.Grid(Truth, 0, seed: 1, sizes: 3, budgets: 2);
        var keys = points.Select((_, i) => $"k{i}").ToList();
        var e = Assert.Throws<ArgumentException>(() => FitValidation.Resolve(["nope"], keys, points));
        Assert.StartsWith("holdout 'nope' is not a run with a final loss (runs: k0, k1,", e.Message);
        e = Assert.Throws<ArgumentException>(() => FitValidation.Resolve(["k0", "k1"], keys, points));
        Assert.Equal("holding out 2 of 6 runs leaves 4, fewer than the 5 a fit needs", e.Message);
    }

    [Fact]
    public void A_wide_grid_near_the_irreducible_loss_is_identified()
    {
        var points = SyntheticScalingData.Grid(Truth, 0.003, seed: 5, sizes: 8, budgets: 6);
        var fit = ChinchillaFitter.Fit(points, new ChinchillaFitOptions { Bootstrap = 200 });
        var verdict = FitIdentification.Judge(fit, points);
        output.WriteLine(string.Join("\n", verdict.Reasons));
        Assert.Equal(FitVerdictKind.Identified, verdict.Kind);
        Assert.Empty(verdict.Reasons);
    }

    [Fact]
    public void Tiny_runs_far_above_E_with_two_budgets_per_size_are_not_identified()
    {
        // Small models trained briefly (1e4..3e4 parameters, 1e5 and 3e5 tokens): loss far above E, sizes over 3x.
        var points = SyntheticScalingData.Grid(Truth, 0.01, seed: 6, nMin: 1e4, nMax: 3e4, sizes: 4, dMin: 1e5, dMax: 3e5, budgets: 2);
        var fit = ChinchillaFitter.Fit(points, new ChinchillaFitOptions { Bootstrap = 200 });
        var verdict = FitIdentification.Judge(fit, points);
        output.WriteLine(string.Join("\n", verdict.Reasons));
        Assert.Equal(FitVerdictKind.NotIdentified, verdict.Kind);
        Assert.Contains(verdict.Reasons, r => r.StartsWith("model sizes span only 3x (1E+04 to 3E+04)"));
        Assert.Contains(verdict.Reasons, r => r.StartsWith("4 of 4 model sizes have fewer than 3 token budgets (e.g. N = 1E+04 has 2)"));
        Assert.Contains(verdict.Reasons, r => r.StartsWith("α = ") && r.Contains("has a 95% interval"));
        Assert.StartsWith("The fit is NOT identified", verdict.Headline);
    }

    [Fact]
    public void E_at_its_bound_is_named_and_a_fit_without_intervals_is_not_judged()
    {
        var zeroE = Truth with { E = 1e-6 };
        var points = SyntheticScalingData.Grid(zeroE, 0, seed: 1);
        var fit = ChinchillaFitter.Fit(points);
        var verdict = FitIdentification.Judge(fit, points);
        Assert.Equal(FitVerdictKind.NotIdentified, verdict.Kind);
        Assert.Contains(verdict.Reasons, r => r.StartsWith("E fits to ") && r.EndsWith("at its lower bound 0: the runs are too far above the irreducible loss to locate it"));

        var good = SyntheticScalingData.Grid(Truth, 0, seed: 1);
        var unjudged = FitIdentification.Judge(ChinchillaFitter.Fit(good), good);
        Assert.Equal(FitVerdictKind.NotJudged, unjudged.Kind);
        Assert.Empty(unjudged.Reasons);
    }

    [Fact]
    public void A_degenerate_fit_whose_resamples_are_all_non_finite_is_not_identified_instead_of_throwing()
    {
        Assert.Equal(Interval.Undefined, Interval.Percentile([double.PositiveInfinity, double.NaN]));
        Assert.False(Interval.Undefined.IsDefined);
        Assert.Equal("undefined (no resample finite)", Interval.Undefined.Format("G3"));
        Assert.Equal("[1, 2]", new Interval(1, 2).Format("G3"));

        // Every resample's A overflowed (e^a for a huge a), as a light sweep's degenerate bootstrap gives.
        var points = SyntheticScalingData.Grid(Truth, 0, seed: 1);
        var overflowed = Truth with { A = double.PositiveInfinity };
        var fit = new ChinchillaFit(Truth, 0, points.Count, 1, 1, [overflowed, overflowed, overflowed]);
        var verdict = FitIdentification.Judge(fit, points);
        Assert.Equal(FitVerdictKind.NotIdentified, verdict.Kind);
        Assert.Equal(["A has no 95% interval: none of the 3 bootstrap resamples gives it a finite value"], verdict.Reasons);
        var optimum = fit.ComputeOptimal(1e20);
        Assert.False(optimum.N!.Value.IsDefined);
        var document = FitDocument.Build(fit, [1e20], verdict);
        Assert.Equal(false, document["identified"]);
    }
}
