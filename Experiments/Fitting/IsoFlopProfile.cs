namespace Orchestrator.Experiments.Fitting;

/// <summary>
/// Chinchilla approach 2: for each FLOP budget, the runs trade size for tokens; a parabola in ln N through their final
/// losses has its minimum at the budget's optimal N. Optimal N and D across budgets then give N* ∝ C^a, D* ∝ C^b.
/// </summary>
public static class IsoFlopProfile
{
    /// <summary>Fits one parabola per budget (points grouped by their FLOP budget C) and the power laws through the minima.</summary>
    public static IsoFlopFit Fit(IReadOnlyList<(double Flops, ScalingPoint Point)> runs)
    {
        var minima = new List<IsoFlopMinimum>();
        foreach (var group in runs.GroupBy(r => r.Flops).OrderBy(g => g.Key))
        {
            var pts = group.Select(g => g.Point).OrderBy(p => p.N).ToList();
            if (pts.Select(p => p.N).Distinct().Count() < 3)
                throw new ArgumentException(
                    $"IsoFLOP budget {group.Key:g3} has {pts.Count} run(s) of distinct size: a parabola needs at least 3 sizes per budget");
            minima.Add(FitBudget(group.Key, pts));
        }
        if (minima.Count == 0) throw new ArgumentException("no IsoFLOP budgets to fit: give flop_budgets in the sweep");

        PowerLaw? nLaw = null, dLaw = null;
        var usable = minima.Where(m => m.IsInterior).ToList();
        if (usable.Select(m => m.Flops).Distinct().Count() >= 2)
        {
            // N_opt = k·C^a is a power law with a negative "exponent" in PowerLaw's (X_c/X)^α form: α = −a.
            nLaw = PowerLaw.Fit("C", usable.Select(m => (m.Flops, m.OptimalN)).ToList());
            dLaw = PowerLaw.Fit("C", usable.Select(m => (m.Flops, m.OptimalD)).ToList());
        }
        return new IsoFlopFit(minima, nLaw is null ? null : -nLaw.Exponent, dLaw is null ? null : -dLaw.Exponent, nLaw, dLaw);
    }

    static IsoFlopMinimum FitBudget(double flops, List<ScalingPoint> pts)
    {
        var x = pts.Select(p => Math.Log(p.N)).ToArray();
        var y = pts.Select(p => p.Loss).ToArray();
        var c = MathNet.Numerics.Fit.Polynomial(x, y, 2); // c0 + c1·x + c2·x²
        bool convex = c[2] > 0;
        double lnN = convex ? -c[1] / (2 * c[2]) : x[Array.IndexOf(y, y.Min())];
        // A minimum outside the sizes tried is an extrapolation: report it, but keep it out of the exponent fit.
        bool interior = convex && lnN >= x.Min() && lnN <= x.Max();
        double n = Math.Exp(lnN);
        double loss = c[0] + c[1] * lnN + c[2] * lnN * lnN;
        return new IsoFlopMinimum(flops, n, flops / (6 * n), loss, [c[0], c[1], c[2]], interior);
    }
}

/// <summary>The fitted parabola loss = c0 + c1·ln N + c2·(ln N)² for one budget and where it bottoms out.</summary>
public sealed record IsoFlopMinimum(double Flops, double OptimalN, double OptimalD, double Loss, double[] Parabola, bool IsInterior)
{
    public double PredictLoss(double n)
    {
        double x = Math.Log(n);
        return Parabola[0] + Parabola[1] * x + Parabola[2] * x * x;
    }
}

/// <summary>Per-budget minima and, with at least two interior ones, the exponents a, b of N* ∝ C^a, D* ∝ C^b.</summary>
public sealed record IsoFlopFit(IReadOnlyList<IsoFlopMinimum> Minima, double? NExponent, double? DExponent,
    PowerLaw? NLaw, PowerLaw? DLaw)
{
    /// <summary>N* at budget C from the minima's power law (null when fewer than two interior minima).</summary>
    public double? OptimalN(double flops) => NLaw?.Predict(flops);
}
