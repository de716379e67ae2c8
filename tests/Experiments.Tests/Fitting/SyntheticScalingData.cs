using Orchestrator.Experiments.Fitting;

namespace Orchestrator.Tests.Experiments.Fitting;

/// <summary>Points drawn from a known law on a log grid of N and D, with multiplicative log-normal noise.</summary>
static class SyntheticScalingData
{
    public static List<ScalingPoint> Grid(ChinchillaLaw law, double noise, int seed,
        double nMin = 1e7, double nMax = 1e10, int sizes = 8, double dMin = 1e9, double dMax = 1e12, int budgets = 6)
    {
        var rng = new Random(seed);
        var points = new List<ScalingPoint>();
        for (int i = 0; i < sizes; i++)
        for (int j = 0; j < budgets; j++)
        {
            double n = nMin * Math.Pow(nMax / nMin, i / (double)(sizes - 1));
            double d = dMin * Math.Pow(dMax / dMin, j / (double)(budgets - 1));
            points.Add(new ScalingPoint(n, d, law.Predict(n, d) * Math.Exp(noise * Gaussian(rng))));
        }
        return points;
    }

    static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
