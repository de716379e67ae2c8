using Orchestrator.Contracts.Experiments;

namespace Orchestrator.Experiments.Search;

/// <summary>
/// The fitted learning-rate rule LR*(N) = c·N^k: ordinary least squares of ln lr* on ln N over the best trial of each
/// size, with the exponent's 95% interval from the t-distribution on n − 2 degrees of freedom. Risk: with 2 sizes the
/// line is exact and has no interval (NaN); with sizes that all picked the same lr the exponent is 0 and the rule is
/// that lr.
/// </summary>
public static class LrRule
{
    public static LrRuleFit Fit(IReadOnlyList<BestTrial> best)
    {
        if (best.Count < 2)
            throw new ArgumentException($"lr: auto needs a best trial at 2 or more sizes to fit LR*(N); the search has {best.Count} (did every trial of a size fail?)");
        var x = best.Select(b => Math.Log(b.N)).ToArray();
        var y = best.Select(b => Math.Log(b.Config.Lr)).ToArray();
        var (intercept, slope) = MathNet.Numerics.Fit.Line(x, y);
        double low = double.NaN, high = double.NaN;
        int n = x.Length;
        if (n > 2)
        {
            double meanX = x.Average();
            double sxx = x.Sum(v => (v - meanX) * (v - meanX));
            double sse = x.Select((v, i) => y[i] - (intercept + slope * v)).Sum(e => e * e);
            double se = Math.Sqrt(sse / (n - 2) / sxx);
            double t = MathNet.Numerics.Distributions.StudentT.InvCDF(0, 1, n - 2, 0.975);
            (low, high) = (slope - t * se, slope + t * se);
        }
        return new LrRuleFit
        {
            Coefficient = Math.Exp(intercept), Exponent = slope, ExponentLow = low, ExponentHigh = high,
            Sizes = [.. best.Select(b => (double)b.N)], BestLrs = [.. best.Select(b => b.Config.Lr)],
        };
    }
}
