namespace Orchestrator.Experiments.Fitting;

/// <summary>
/// The machine-readable form of a Chinchilla fit, shared by `orch fit --json` and the sweep report's JSON. Keys are
/// docs/CLI.md's contract (`E`, `A`, `B`, `alpha`, `beta`), so this is an ordered dictionary rather than a record the
/// snake_case policy would rename.
/// </summary>
public static class FitDocument
{
    public static Dictionary<string, object?> Build(ChinchillaFit fit, IEnumerable<double> budgets, FitVerdict? verdict = null,
        HoldoutCheck? holdout = null, LeaveOneOut? leaveOneOut = null)
    {
        var law = fit.Law;
        var ci = fit.Intervals;
        return new Dictionary<string, object?>
        {
            ["E"] = law.E,
            ["A"] = law.A,
            ["B"] = law.B,
            ["alpha"] = law.Alpha,
            ["beta"] = law.Beta,
            ["points"] = fit.Points,
            ["objective"] = fit.Objective,
            ["starts"] = fit.Starts,
            ["converged_starts"] = fit.ConvergedStarts,
            ["bootstrap"] = fit.HasIntervals ? fit.BootstrapLaws.Count : null,
            ["intervals"] = ci is null ? null : new Dictionary<string, double[]>
            {
                ["E"] = Pair(ci.E), ["A"] = Pair(ci.A), ["B"] = Pair(ci.B), ["alpha"] = Pair(ci.Alpha), ["beta"] = Pair(ci.Beta),
            },
            ["compute_optimal"] = budgets.Select(c => ComputeOptimal(fit.ComputeOptimal(c))).ToList(),
            ["identified"] = verdict is null ? null : verdict.Kind switch
            {
                FitVerdictKind.Identified => true, FitVerdictKind.NotIdentified => false, _ => null,
            },
            ["identification"] = verdict is null ? null : new Dictionary<string, object?>
            {
                ["verdict"] = verdict.Kind.ToString(), ["headline"] = verdict.Headline, ["reasons"] = verdict.Reasons,
            },
            ["holdout"] = holdout is null ? null : new Dictionary<string, object?>
            {
                ["fit_on_rest"] = new Dictionary<string, object?>
                {
                    ["E"] = holdout.Fit.Law.E, ["A"] = holdout.Fit.Law.A, ["B"] = holdout.Fit.Law.B,
                    ["alpha"] = holdout.Fit.Law.Alpha, ["beta"] = holdout.Fit.Law.Beta, ["points"] = holdout.Fit.Points,
                },
                ["predictions"] = holdout.Predictions.Select(Prediction).ToList(),
            },
            ["leave_one_out"] = leaveOneOut is null ? null : new Dictionary<string, object?>
            {
                ["mean_abs_relative_error"] = leaveOneOut.MeanAbsRelativeError,
                ["max_abs_relative_error"] = Math.Abs(leaveOneOut.Worst.RelativeError),
                ["worst_key"] = leaveOneOut.Worst.Key,
                ["predictions"] = leaveOneOut.Predictions.Select(Prediction).ToList(),
            },
        };
    }

    static Dictionary<string, object?> Prediction(HeldOutPrediction p) => new()
    {
        ["key"] = p.Key, ["n"] = p.Point.N, ["d"] = p.Point.D, ["actual"] = p.Point.Loss, ["predicted"] = p.Predicted,
        ["interval"] = p.PredictedInterval is { } i ? Pair(i) : null, ["relative_error"] = p.RelativeError,
    };

    static Dictionary<string, object?> ComputeOptimal(ComputeOptimalEstimate est) => new()
    {
        ["flops"] = est.Optimum.Flops,
        ["n"] = est.Optimum.N,
        ["d"] = est.Optimum.D,
        ["loss"] = est.Optimum.Loss,
        ["n_interval"] = est.N is { } n ? Pair(n) : null,
        ["d_interval"] = est.D is { } d ? Pair(d) : null,
        ["tokens_per_param"] = est.TokensPerParamValue,
        ["tokens_per_param_interval"] = est.TokensPerParam is { } t ? Pair(t) : null,
    };

    static double[] Pair(Interval i) => [i.Lower, i.Upper];

    /// <summary>Budgets to report when the user names none: the largest 6·N·D in the data, ×10 and ×100.</summary>
    public static double[] DefaultBudgets(IReadOnlyList<ScalingPoint> points)
    {
        double c = points.Max(p => 6 * p.N * p.D);
        double rounded = Math.Pow(10, Math.Ceiling(Math.Log10(c)));
        return [rounded, rounded * 10, rounded * 100];
    }
}
