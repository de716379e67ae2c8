using Orchestrator.Experiments.Fitting;

namespace Orchestrator.Tests.Experiments.Fitting;

public sealed class SingleAxisAndIsoFlopTests
{
    [Fact]
    public void Kaplan_power_law_recovers_its_exponent_and_scale()
    {
        // Kaplan et al. 2020: L(N) = (8.8e13 / N)^0.076.
        var pts = Enumerable.Range(0, 8).Select(i => 1e6 * Math.Pow(10, i * 0.5))
            .Select(n => (n, Math.Pow(8.8e13 / n, 0.076))).ToList();
        var law = PowerLaw.Fit("N", pts);
        Assert.Equal(0.076, law.Exponent, 1e-9);
        Assert.Equal(8.8e13, law.Scale, 8.8e13 * 1e-6);
        Assert.Equal(1.0, law.RSquared, 1e-9);
    }

    [Fact]
    public void Power_law_refuses_a_single_size()
    {
        var e = Assert.Throws<ArgumentException>(() => PowerLaw.Fit("N", [(1e6, 3.0), (1e6, 2.9)]));
        Assert.Equal("every point has the same N: a power law needs at least 2 values of N", e.Message);
    }

    [Fact]
    public void IsoFlop_minima_land_on_the_laws_compute_optimal_size()
    {
        var law = ChinchillaLaw.Chinchilla;
        var runs = new List<(double, ScalingPoint)>();
        double[] budgets = [1e19, 1e20, 1e21, 1e22];
        foreach (var c in budgets)
        {
            double center = law.ComputeOptimal(c).N;
            // Nine sizes from center/8 to center*8, symmetric in ln N around the true optimum.
            for (int k = -4; k <= 4; k++)
            {
                double n = center * Math.Pow(2, k * 0.75);
                double d = c / (6 * n);
                runs.Add((c, new ScalingPoint(n, d, law.Predict(n, d))));
            }
        }
        var fit = IsoFlopProfile.Fit(runs);
        Assert.Equal(4, fit.Minima.Count);
        foreach (var m in fit.Minima)
        {
            Assert.True(m.IsInterior);
            // A parabola in ln N is only an approximation of the true curve: within 25% of the exact optimum.
            Assert.InRange(m.OptimalN / law.ComputeOptimal(m.Flops).N, 0.75, 1.25);
        }
        // N* ∝ C^(β/(α+β)) = C^0.4516 for Chinchilla's law.
        Assert.InRange(fit.NExponent!.Value, 0.43, 0.47);
        Assert.Equal(1.0, fit.NExponent.Value + fit.DExponent!.Value, 1e-9);
    }

    [Fact]
    public void IsoFlop_refuses_a_budget_with_two_sizes()
    {
        var e = Assert.Throws<ArgumentException>(() => IsoFlopProfile.Fit(
            [(1e18, new ScalingPoint(1e6, 1e11 / 6, 3)), (1e18, new ScalingPoint(2e6, 1e11 / 12, 2.9))]));
        Assert.Equal("IsoFLOP budget 1e+18 has 2 run(s) of distinct size: a parabola needs at least 3 sizes per budget", e.Message);
    }
}
