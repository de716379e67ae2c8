using System.Diagnostics;
using Orchestrator.Experiments.Fitting;
using Xunit.Abstractions;

namespace Orchestrator.Tests.Experiments.Fitting;

public sealed class ChinchillaFitterTests(ITestOutputHelper output)
{
    public static TheoryData<double, double, double, double, double> Laws => new()
    {
        { 1.69, 406.4, 410.7, 0.34, 0.28 },   // Hoffmann et al. 2022
        { 1.82, 482.0, 2085.4, 0.3478, 0.3658 }, // Besiroglu et al. 2024 replication
        { 2.5, 60.0, 300.0, 0.25, 0.2 },
        { 0.8, 1500.0, 90.0, 0.45, 0.15 },
    };

    [Theory]
    [MemberData(nameof(Laws))]
    public void Recovers_known_parameters_from_noiseless_points(double e, double a, double b, double alpha, double beta)
    {
        var truth = new ChinchillaLaw(e, a, b, alpha, beta);
        var fit = ChinchillaFitter.Fit(SyntheticScalingData.Grid(truth, noise: 0, seed: 1));
        output.WriteLine($"{fit.Law} objective={fit.Objective:g3} converged={fit.ConvergedStarts}/{fit.Starts}");
        AssertClose(truth.E, fit.Law.E, 0.01);
        AssertClose(truth.A, fit.Law.A, 0.02);
        AssertClose(truth.B, fit.Law.B, 0.02);
        AssertClose(truth.Alpha, fit.Law.Alpha, 0.01);
        AssertClose(truth.Beta, fit.Law.Beta, 0.01);
    }

    [Fact]
    public void Recovers_Chinchilla_exponents_and_optimum_from_noisy_points()
    {
        var truth = ChinchillaLaw.Chinchilla;
        var fit = ChinchillaFitter.Fit(SyntheticScalingData.Grid(truth, noise: 0.005, seed: 7));
        output.WriteLine(fit.Law.ToString());
        Assert.InRange(fit.Law.Alpha, truth.Alpha - 0.03, truth.Alpha + 0.03);
        Assert.InRange(fit.Law.Beta, truth.Beta - 0.03, truth.Beta + 0.03);
        Assert.InRange(fit.Law.E, truth.E - 0.05, truth.E + 0.05);
        // Chinchilla's budget (5.76e23 FLOPs): the fitted N* within a factor of 1.5 of the true law's.
        double trueN = truth.ComputeOptimal(5.76e23).N, fitN = fit.Law.ComputeOptimal(5.76e23).N;
        Assert.InRange(fitN / trueN, 1 / 1.5, 1.5);
    }

    [Fact]
    public void Compute_optimal_allocation_matches_a_brute_force_search()
    {
        var law = ChinchillaLaw.Chinchilla;
        const double c = 1e21;
        var opt = law.ComputeOptimal(c);
        Assert.Equal(c, 6 * opt.N * opt.D, c * 1e-9);
        for (double f = 0.9; f <= 1.1; f += 0.05)
            Assert.True(law.Predict(opt.N * f, c / (6 * opt.N * f)) >= opt.Loss - 1e-12);
    }

    [Fact]
    public void Bootstrap_intervals_cover_the_truth_at_about_the_nominal_rate()
    {
        // 40 independent data sets, 200 resamples each: the 95% intervals should hold α and β ~95% of the time.
        // With 40 trials a true 95% rate gives >= 33 hits with probability > 0.99; we allow 80%-100%.
        var truth = ChinchillaLaw.Chinchilla;
        int alphaHits = 0, betaHits = 0, eHits = 0;
        const int trials = 40;
        var sw = Stopwatch.StartNew();
        for (int t = 0; t < trials; t++)
        {
            var points = SyntheticScalingData.Grid(truth, noise: 0.01, seed: 100 + t, sizes: 6, budgets: 5);
            var fit = ChinchillaFitter.Fit(points, new ChinchillaFitOptions
            {
                Bootstrap = 200, Seed = t, Starts = CoarseStarts,
            });
            var ci = fit.Intervals!;
            if (ci.Alpha.Contains(truth.Alpha)) alphaHits++;
            if (ci.Beta.Contains(truth.Beta)) betaHits++;
            if (ci.E.Contains(truth.E)) eHits++;
        }
        output.WriteLine($"coverage alpha {alphaHits}/{trials} beta {betaHits}/{trials} E {eHits}/{trials} in {sw.Elapsed.TotalSeconds:F1}s");
        Assert.InRange(alphaHits, (int)(0.8 * trials), trials);
        Assert.InRange(betaHits, (int)(0.8 * trials), trials);
        Assert.InRange(eHits, (int)(0.8 * trials), trials);
    }

    [Fact]
    public void Full_grid_plus_1000_resamples_is_fast()
    {
        var points = SyntheticScalingData.Grid(ChinchillaLaw.Chinchilla, noise: 0.01, seed: 3);
        var sw = Stopwatch.StartNew();
        var fit = ChinchillaFitter.Fit(points, new ChinchillaFitOptions { Bootstrap = 1000 });
        output.WriteLine($"{points.Count} points, {fit.Starts} starts, 1000 resamples: {sw.Elapsed.TotalSeconds:F2} s");
        Assert.Equal(1000, fit.BootstrapLaws.Count);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"fit took {sw.Elapsed}");
    }

    [Fact]
    public void Too_few_points_are_refused_with_a_clear_error()
    {
        var points = SyntheticScalingData.Grid(ChinchillaLaw.Chinchilla, 0, 1, sizes: 2, budgets: 2);
        var e = Assert.Throws<ArgumentException>(() => ChinchillaFitter.Fit(points));
        Assert.Equal("4 point(s) cannot determine 5 parameters: give at least 5 runs", e.Message);
    }

    [Fact]
    public void Non_positive_values_are_refused_naming_the_point()
    {
        var points = SyntheticScalingData.Grid(ChinchillaLaw.Chinchilla, 0, 1, sizes: 3, budgets: 2);
        points[4] = points[4] with { D = -5 };
        var e = Assert.Throws<ArgumentException>(() => ChinchillaFitter.Fit(points));
        Assert.Equal("point 5: D = -5 must be a positive finite number", e.Message);
    }

    /// <summary>A coarser grid than Hoffmann's for the many-trials coverage test (the basin is easy on clean grids).</summary>
    static readonly IReadOnlyList<double[]> CoarseStarts = ChinchillaFitter.HoffmannGrid.Where((_, i) => i % 30 == 0).ToList();

    static void AssertClose(double expected, double actual, double relative) =>
        Assert.True(Math.Abs(actual - expected) <= relative * Math.Abs(expected),
            $"expected {expected} within {relative:P0}, got {actual}");
}
