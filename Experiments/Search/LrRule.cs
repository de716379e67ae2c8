using Orchestrator.Contracts.Experiments;

namespace Orchestrator.Experiments.Search;

/// <summary>
/// The fitted learning-rate rule LR*(N) = c·N^k: ordinary least squares of ln lr* on ln N over the best trial of each
/// size, with the exponent's 95% interval from the t-distribution on n − 2 degrees of freedom; when the search covered
/// batch, the batch rule B*(N) = c_B·N^k_B fitted the same way to the same trials (so the two describe one
/// configuration per size). Risk: with 2 sizes the line is exact and has no interval (NaN); with sizes that all picked
/// the same value the exponent is 0 and the rule is that value.
/// </summary>
public static class LrRule
{
    public static LrRuleFit Fit(IReadOnlyList<BestTrial> best, bool fitBatch = false)
    {
        if (best.Count < 2)
            throw new ArgumentException($"lr: auto needs a best trial at 2 or more sizes to fit LR*(N); the search has {best.Count} (did every trial of a size fail?)");
        var x = best.Select(b => Math.Log(b.N)).ToArray();
        var (intercept, slope, low, high) = PowerLaw(x, [.. best.Select(b => Math.Log(b.Config.Lr))]);
        var fit = new LrRuleFit
        {
            Coefficient = Math.Exp(intercept), Exponent = slope, ExponentLow = low, ExponentHigh = high,
            Sizes = [.. best.Select(b => (double)b.N)], BestLrs = [.. best.Select(b => b.Config.Lr)],
        };
        if (!fitBatch) return fit;
        var (bIntercept, bSlope, bLow, bHigh) = PowerLaw(x, [.. best.Select(b => Math.Log(b.Config.Batch))]);
        return fit with
        {
            BatchCoefficient = Math.Exp(bIntercept), BatchExponent = bSlope, BatchExponentLow = bLow, BatchExponentHigh = bHigh,
            BestBatches = [.. best.Select(b => (double)b.Config.Batch)],
        };
    }

    // ln y = a + k ln x by least squares, with k's 95% interval (NaN for 2 points).
    static (double Intercept, double Slope, double Low, double High) PowerLaw(double[] x, double[] y)
    {
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
        return (intercept, slope, low, high);
    }
}
