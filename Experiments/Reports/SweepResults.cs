namespace Orchestrator.Experiments.Reports;

/// <summary>What a report is made from: every planned run with its outcome and loss curve (from the sweep's folder).</summary>
public sealed record SweepResults(string Id, string Name, IReadOnlyList<RunResult> Runs, IReadOnlyList<double> ReportBudgets);

/// <summary>
/// One run of the sweep. N: non-embedding parameters; D: tokens trained; FinalLoss: final validation loss (train loss
/// when the trainer reported no validation), null when the run did not complete.
/// </summary>
public sealed record RunResult(
    string Key, string State, long N, long D, double? FlopBudget, double? FinalLoss, int Attempts,
    IReadOnlyList<CurvePoint> Curve);

public readonly record struct CurvePoint(int Step, long Tokens, double Loss);
