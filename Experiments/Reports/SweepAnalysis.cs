using Orchestrator.Experiments.Fitting;

namespace Orchestrator.Experiments.Reports;

/// <summary>
/// Every fit a sweep's results support: Chinchilla L(N, D) (>= 5 completed runs over >= 2 sizes and >= 2 token
/// counts), Kaplan L(N) per token budget and L(D) per model, IsoFLOP minima per FLOP budget. A fit the data cannot
/// support is left out with the reason, never guessed.
/// </summary>
public sealed record SweepAnalysis(
    IReadOnlyList<RunResult> Completed,
    ChinchillaFit? Chinchilla,
    IReadOnlyList<PowerLaw> LossVsN,
    IReadOnlyList<PowerLaw> LossVsD,
    IsoFlopFit? IsoFlop,
    IReadOnlyList<double> Budgets,
    IReadOnlyList<string> Notes)
{
    /// <summary>Whether the data determine the law (null without a fit).</summary>
    public FitVerdict? Verdict { get; init; }
    /// <summary>The law fitted without the held-out runs and its predictions of them (null when the spec holds none out).</summary>
    public HoldoutCheck? Holdout { get; init; }
    /// <summary>Each completed run predicted by the law refitted without it (null without a fit).</summary>
    public LeaveOneOut? LeaveOneOut { get; init; }

    public static SweepAnalysis Analyze(SweepResults results, int bootstrap = 1000, CancellationToken ct = default)
    {
        // A WSD trunk ends at the stable LR: its loss is no point of the law (its branches' are).
        var pointRuns = results.Runs.Where(r => !r.IsTrunk).ToList();
        var done = pointRuns.Where(r => r.FinalLoss is > 0).ToList();
        var notes = new List<string>();
        var points = done.Select(r => new ScalingPoint(r.N, r.D, r.FinalLoss!.Value)).ToList();

        ChinchillaFit? fit = null;
        try
        {
            fit = ChinchillaFitter.Fit(points, new ChinchillaFitOptions { Bootstrap = bootstrap }, ct);
        }
        catch (ArgumentException e) { notes.Add($"No L(N, D) fit: {e.Message}."); }
        catch (InvalidOperationException e) { notes.Add($"No L(N, D) fit: {e.Message}."); }
        if (fit is not null && points.Count < 2 * ChinchillaFitter.ParameterCount)
            notes.Add($"L(N, D) rests on {points.Count} runs for 5 parameters: it is poorly determined (see how wide the intervals are); add sizes and budgets.");
        var keys = done.Select(r => r.Key).ToList();
        FitVerdict? verdict = fit is null ? null : FitIdentification.Judge(fit, points);
        LeaveOneOut? loo = fit is null ? null : FitValidation.LeaveOneOutErrors(points, keys, fit, ct: ct);
        HoldoutCheck? holdout = null;
        if (fit is not null && results.Holdout is { } request)
        {
            try
            {
                var held = FitValidation.Resolve(request.Split(','), keys, points);
                holdout = FitValidation.Holdout(points, keys, held, new ChinchillaFitOptions { Bootstrap = bootstrap }, ct);
            }
            catch (ArgumentException e) { notes.Add($"No hold-out check: {e.Message}."); }
            catch (InvalidOperationException e) { notes.Add($"No hold-out check: {e.Message}."); }
        }
        var repeated = done.Where(r => r.Epochs > 1).ToList();
        if (repeated.Count > 0)
            notes.Add($"{repeated.Count} of {done.Count} completed runs trained past one epoch of the corpus's {results.CorpusTrainTokens:G3} unique training tokens (up to {repeated.Max(r => r.Epochs):F1} epochs): their D counts repeated tokens, which the law treats as fresh (Muennighoff et al. 2023).");

        var byN = new List<PowerLaw>();
        foreach (var g in done.Where(r => r.FlopBudget is null).GroupBy(r => r.D).Where(g => g.Select(r => r.N).Distinct().Count() >= 2))
            AddPowerLaw(byN, PowerLaw.Fit($"N at D={g.Key:G3}", g.Select(r => ((double)r.N, r.FinalLoss!.Value)).ToList()), notes);
        var byD = new List<PowerLaw>();
        foreach (var g in done.Where(r => r.FlopBudget is null).GroupBy(r => r.N).Where(g => g.Select(r => r.D).Distinct().Count() >= 2))
            AddPowerLaw(byD, PowerLaw.Fit($"D at N={g.Key:G3}", g.Select(r => ((double)r.D, r.FinalLoss!.Value)).ToList()), notes);

        IsoFlopFit? iso = null;
        var isoRuns = done.Where(r => r.FlopBudget is not null).ToList();
        if (isoRuns.Count > 0)
        {
            var budgets = isoRuns.GroupBy(r => r.FlopBudget!.Value).Where(g => g.Select(r => r.N).Distinct().Count() >= 3).Select(g => g.Key).ToHashSet();
            if (budgets.Count == 0) notes.Add("No IsoFLOP fit: no FLOP budget has 3 or more completed sizes.");
            else
            {
                iso = IsoFlopProfile.Fit(isoRuns.Where(r => budgets.Contains(r.FlopBudget!.Value))
                    .Select(r => (r.FlopBudget!.Value, new ScalingPoint(r.N, r.D, r.FinalLoss!.Value))).ToList());
                foreach (var m in iso.Minima.Where(m => !m.IsInterior))
                    notes.Add($"IsoFLOP budget {m.Flops:G3}: the minimum lies outside the sizes tried (extend the sizes); left out of the exponent fit.");
            }
        }

        int failed = pointRuns.Count - done.Count;
        if (failed > 0) notes.Add($"{failed} of {pointRuns.Count} runs have no final loss (failed, cancelled or unfinished) and are not in the fits.");
        var reportBudgets = results.ReportBudgets.Count > 0 ? results.ReportBudgets
            : points.Count > 0 ? FitDocument.DefaultBudgets(points) : [];
        return new SweepAnalysis(done, fit, byN, byD, iso, reportBudgets, notes) { Verdict = verdict, Holdout = holdout, LeaveOneOut = loo };
    }

    /// <summary>A power law only means something when loss falls along the axis; otherwise say so instead.</summary>
    static void AddPowerLaw(List<PowerLaw> laws, PowerLaw law, List<string> notes)
    {
        if (law.Exponent > 0 && double.IsFinite(law.Scale)) laws.Add(law);
        else notes.Add($"No power law in {law.Axis}: the loss does not fall as it grows (exponent {law.Exponent:G3}).");
    }
}
