using System.Diagnostics;
using Orchestrator.Experiments.Fitting;
using Xunit.Abstractions;

namespace Orchestrator.Tests.Experiments.Fitting;

/// <summary>
/// The fitter's cost: starts screened by their objective value and descended in parallel batches until the best
/// minimum is found again (before: all 4,500 starts always, 245 points took 20 s and 10,000 points over 300 s).
/// </summary>
public sealed class FitterSpeedTests(ITestOutputHelper output)
{
    static List<ScalingPoint> Points(int sizes, int budgets, int seed) => SyntheticScalingData.Grid(
        ChinchillaLaw.Chinchilla, noise: 0.01, seed: seed, sizes: sizes, budgets: budgets);

    [Fact]
    public void The_grid_search_stops_once_the_best_minimum_is_found_again()
    {
        var fit = ChinchillaFitter.Fit(Points(35, 7, 1));
        output.WriteLine($"{fit.Starts} of {ChinchillaFitter.HoffmannGrid.Count} starts descended, {fit.ConvergedStarts} converged");
        Assert.InRange(fit.Starts, 32, ChinchillaFitter.HoffmannGrid.Count / 4);
        // The full grid finds the same law.
        var full = ChinchillaFitter.Fit(Points(35, 7, 1), new ChinchillaFitOptions { Starts = ChinchillaFitter.HoffmannGrid.Take(1500).ToList() });
        Assert.Equal(full.Law.Alpha, fit.Law.Alpha, 1e-4);
        Assert.Equal(full.Law.Beta, fit.Law.Beta, 1e-4);
    }

    [Fact]
    public void Points_245_with_1000_resamples_and_10000_points_fit_within_their_budgets()
    {
        var progress = new List<FitProgress>();
        var sw = Stopwatch.StartNew();
        var fit = ChinchillaFitter.Fit(Points(35, 7, 2), new ChinchillaFitOptions { Bootstrap = 1000, Progress = p => { lock (progress) progress.Add(p); } });
        var small = sw.Elapsed;
        Assert.Equal(1000, fit.BootstrapLaws.Count);
        Assert.Contains(progress, p => p is { Phase: "bootstrap", Done: 1000, Total: 1000 });
        Assert.Contains(progress, p => p.Phase == "starts");
        sw.Restart();
        var big = ChinchillaFitter.Fit(Points(100, 100, 3));
        var large = sw.Elapsed;
        output.WriteLine($"245 points + 1000 resamples: {small.TotalSeconds:F2} s; 10,000 points: {large.TotalSeconds:F2} s ({big.Starts} starts)");
        Assert.InRange(big.Law.Alpha, 0.31, 0.37);
        // Generous margins over the targets (5 s and 30 s on 2 idle cores) for a shared CI machine; the property that
        // makes it fast (few starts descended) is checked exactly above.
        Assert.True(small < TimeSpan.FromSeconds(60), $"245 points + 1000 resamples took {small.TotalSeconds:F1} s");
        Assert.True(large < TimeSpan.FromSeconds(180), $"10,000 points took {large.TotalSeconds:F1} s");
    }
}
