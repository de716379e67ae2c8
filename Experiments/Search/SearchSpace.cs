namespace Orchestrator.Experiments.Search;

using Orchestrator.Contracts.Experiments;

/// <summary>
/// The searchable parameters and how their ranges are spaced and sampled: lr on a log scale (learning rates matter
/// by ratio), the others linearly; warmup and batch are whole numbers. Risk: a value rounded for an integer
/// parameter could fall outside its range, so ranges of integers are checked to hold one at parse time.
/// </summary>
public static class SearchSpace
{
    /// <summary>In the order a configuration lists them.</summary>
    public static readonly string[] Names = ["lr", "warmup_steps", "weight_decay", "beta2", "batch"];

    public static bool IsLog(string name) => name == "lr";
    public static bool IsInteger(string name) => name is "warmup_steps" or "batch";

    public static IReadOnlyList<double> GridValues(SearchParam p)
    {
        if (!p.Values.IsDefaultOrEmpty) return p.Values;
        double lo = p.Min!.Value, hi = p.Max!.Value;
        int points = p.Points!.Value;
        var values = new List<double>();
        for (int i = 0; i < points; i++)
        {
            double f = points == 1 ? 0 : i / (double)(points - 1);
            double v = IsLog(p.Name) ? Math.Exp(Math.Log(lo) + f * (Math.Log(hi) - Math.Log(lo))) : lo + f * (hi - lo);
            values.Add(IsInteger(p.Name) ? Math.Round(v) : v);
        }
        return values.Distinct().ToArray();
    }

    public static double Draw(SearchParam p, Random rng)
    {
        if (!p.Values.IsDefaultOrEmpty) return p.Values[rng.Next(p.Values.Length)];
        double lo = p.Min!.Value, hi = p.Max!.Value, u = rng.NextDouble();
        double v = IsLog(p.Name) ? Math.Exp(Math.Log(lo) + u * (Math.Log(hi) - Math.Log(lo))) : lo + u * (hi - lo);
        return IsInteger(p.Name) ? Math.Round(v) : v;
    }
}
