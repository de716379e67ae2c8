namespace Orchestrator.Experiments.Fitting;

/// <summary>
/// Kaplan et al. (2020) single-axis law L(X) = (X_c / X)^α for X = N (at ample data) or X = D (at ample size):
/// a straight line in log-log space, fitted by least squares on ln L = α·ln X_c − α·ln X.
/// </summary>
public sealed record PowerLaw(string Axis, double Scale, double Exponent, double RSquared, int Points)
{
    public double Predict(double x) => Math.Pow(Scale / x, Exponent);

    public static PowerLaw Fit(string axis, IReadOnlyList<(double X, double Loss)> points)
    {
        if (points.Count < 2)
            throw new ArgumentException($"a power law in {axis} needs at least 2 points with different {axis} (got {points.Count})");
        for (int i = 0; i < points.Count; i++)
        {
            if (!(points[i].X > 0 && double.IsFinite(points[i].X)))
                throw new ArgumentException($"point {i + 1}: {axis} = {points[i].X} must be a positive finite number");
            if (!(points[i].Loss > 0 && double.IsFinite(points[i].Loss)))
                throw new ArgumentException($"point {i + 1}: loss = {points[i].Loss} must be a positive finite number");
        }
        var x = points.Select(p => Math.Log(p.X)).ToArray();
        var y = points.Select(p => Math.Log(p.Loss)).ToArray();
        if (x.Distinct().Count() < 2)
            throw new ArgumentException($"every point has the same {axis}: a power law needs at least 2 values of {axis}");
        var (intercept, slope) = MathNet.Numerics.Fit.Line(x, y);
        double r2 = MathNet.Numerics.GoodnessOfFit.RSquared(x.Select(v => intercept + slope * v), y);
        double exponent = -slope;
        // intercept = α·ln X_c. A flat line (α = 0) has no X_c; report +∞ rather than divide by zero.
        double scale = exponent == 0 ? double.PositiveInfinity : Math.Exp(intercept / exponent);
        return new PowerLaw(axis, scale, exponent, r2, points.Count);
    }
}
