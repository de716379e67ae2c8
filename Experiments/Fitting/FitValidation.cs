namespace Orchestrator.Experiments.Fitting;

/// <summary>One held-out run: the loss the law fitted without it predicts (with the 95% interval over the bootstrap laws) and what it got.</summary>
public sealed record HeldOutPrediction(string Key, ScalingPoint Point, double Predicted, Interval? PredictedInterval)
{
    /// <summary>(predicted − actual) / actual.</summary>
    public double RelativeError => (Predicted - Point.Loss) / Point.Loss;
    public bool InsideInterval => PredictedInterval is { } i && i.Contains(Point.Loss);
}

/// <summary>A law fitted on all points but the held-out ones, and its predictions for them.</summary>
public sealed record HoldoutCheck(ChinchillaFit Fit, IReadOnlyList<HeldOutPrediction> Predictions);

/// <summary>Leave-one-out: each point predicted by the law refitted without it.</summary>
public sealed record LeaveOneOut(IReadOnlyList<HeldOutPrediction> Predictions)
{
    public double MeanAbsRelativeError => Predictions.Average(p => Math.Abs(p.RelativeError));
    public HeldOutPrediction Worst => Predictions.MaxBy(p => Math.Abs(p.RelativeError))!;
}

/// <summary>
/// Does the law predict runs it has not seen? A hold-out fit leaves out the named runs (by default the largest-compute
/// ones, the extrapolation a scaling law is for) and predicts them; leave-one-out refits once per point, from the full
/// fit's best end points with that point's weight set to 0 (no grid search per point), so it costs about as much as
/// one bootstrap resample per point.
/// </summary>
public static class FitValidation
{
    /// <summary>Leave-one-out runs only up to this many points (each is a refit over all the others).</summary>
    public const int MaxLeaveOneOutPoints = 2000;

    /// <summary>The indices of the runs of largest compute 6·N·D (several when seeds repeat it).</summary>
    public static IReadOnlyList<int> Largest(IReadOnlyList<ScalingPoint> points)
    {
        double max = points.Max(p => p.N * p.D);
        return Enumerable.Range(0, points.Count).Where(i => points[i].N * points[i].D >= max * (1 - 1e-12)).ToList();
    }

    /// <summary>
    /// Resolves a holdout request against the runs' keys: "largest", or run keys. Unknown keys, holding out everything,
    /// or leaving too few points to fit are errors naming the problem.
    /// </summary>
    public static IReadOnlyList<int> Resolve(IReadOnlyList<string> request, IReadOnlyList<string> keys, IReadOnlyList<ScalingPoint> points)
    {
        if (request.Count == 0) return [];
        var picked = new SortedSet<int>();
        foreach (var r in request)
        {
            if (r == "largest") { picked.UnionWith(Largest(points)); continue; }
            int i = keys.ToList().IndexOf(r);
            if (i < 0)
                throw new ArgumentException($"holdout '{r}' is not a run with a final loss (runs: {string.Join(", ", keys.Take(8))}{(keys.Count > 8 ? ", ..." : "")}); give 'largest' or run keys");
            picked.Add(i);
        }
        if (points.Count - picked.Count < ChinchillaFitter.ParameterCount)
            throw new ArgumentException($"holding out {picked.Count} of {points.Count} runs leaves {points.Count - picked.Count}, fewer than the {ChinchillaFitter.ParameterCount} a fit needs");
        return picked.ToList();
    }

    public static HoldoutCheck Holdout(IReadOnlyList<ScalingPoint> points, IReadOnlyList<string> keys, IReadOnlyList<int> heldOut,
        ChinchillaFitOptions options, CancellationToken ct = default)
    {
        var held = heldOut.ToHashSet();
        var rest = Enumerable.Range(0, points.Count).Where(i => !held.Contains(i)).Select(i => points[i]).ToList();
        var fit = ChinchillaFitter.Fit(rest, options, ct);
        var predictions = heldOut.Select(i => Predict(fit, keys[i], points[i])).ToList();
        return new HoldoutCheck(fit, predictions);
    }

    public static LeaveOneOut? LeaveOneOutErrors(IReadOnlyList<ScalingPoint> points, IReadOnlyList<string> keys, ChinchillaFit fit,
        double huberDelta = 1e-3, CancellationToken ct = default)
    {
        if (points.Count > MaxLeaveOneOutPoints || points.Count <= ChinchillaFitter.ParameterCount || fit.Seeds.Count == 0) return null;
        var objective = new LogSumExpObjective(points, huberDelta);
        var predictions = new HeldOutPrediction?[points.Count];
        Parallel.For(0, points.Count, new ParallelOptions { CancellationToken = ct }, i =>
        {
            var weights = Enumerable.Repeat(1.0, points.Count).ToArray();
            weights[i] = 0;
            if (ChinchillaFitter.Refit(objective.WithWeights(weights), fit.Seeds) is { } law)
                predictions[i] = new HeldOutPrediction(keys[i], points[i], law.Predict(points[i].N, points[i].D), null);
        });
        var done = predictions.Where(p => p is not null).Select(p => p!).ToList();
        return done.Count == 0 ? null : new LeaveOneOut(done);
    }

    static HeldOutPrediction Predict(ChinchillaFit fit, string key, ScalingPoint p) => new(key, p, fit.Law.Predict(p.N, p.D),
        fit.HasIntervals ? Interval.Percentile(fit.BootstrapLaws.Select(l => l.Predict(p.N, p.D))) : null);
}
