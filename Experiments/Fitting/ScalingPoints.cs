namespace Orchestrator.Experiments.Fitting;

/// <summary>Checks a set of points before any fit: one clear error naming the bad point and the fix.</summary>
public static class ScalingPoints
{
    public static void Validate(IReadOnlyList<ScalingPoint> points, int parameters, bool needN = true, bool needD = true)
    {
        if (points.Count < parameters)
            throw new ArgumentException(
                $"{points.Count} point(s) cannot determine {parameters} parameters: give at least {parameters} runs");
        for (int i = 0; i < points.Count; i++)
        {
            var p = points[i];
            if (needN && !(p.N > 0 && double.IsFinite(p.N))) throw Bad(i, "N", p.N);
            if (needD && !(p.D > 0 && double.IsFinite(p.D))) throw Bad(i, "D", p.D);
            if (!(p.Loss > 0 && double.IsFinite(p.Loss))) throw Bad(i, "loss", p.Loss);
        }
        if (needN && points.Select(p => p.N).Distinct().Count() < 2)
            throw new ArgumentException("every point has the same N: a fit needs at least 2 model sizes");
        if (needD && points.Select(p => p.D).Distinct().Count() < 2)
            throw new ArgumentException("every point has the same D: a fit needs at least 2 token budgets");
    }

    static ArgumentException Bad(int index, string column, double value) =>
        new($"point {index + 1}: {column} = {value} must be a positive finite number");
}
