namespace Orchestrator.Experiments.Reports;

/// <summary>What a report is made from: every planned run with its outcome and loss curve (from the sweep's folder).</summary>
public sealed record SweepResults(string Id, string Name, IReadOnlyList<RunResult> Runs, IReadOnlyList<double> ReportBudgets)
{
    /// <summary>"largest" or comma-separated run keys to hold out of the fit and predict (the spec's holdout); null for none.</summary>
    public string? Holdout { get; init; }
    /// <summary>The corpus's unique training tokens, when known: runs past them repeat data.</summary>
    public long? CorpusTrainTokens { get; init; }
}

/// <summary>
/// One run of the sweep. N: non-embedding parameters; D: tokens trained; FinalLoss: final validation loss (train loss
/// when the trainer reported no validation: then <see cref="FinalLossIsVal"/> is false), null when the run did not complete. In a branching sweep Role is Trunk or
/// Branch, a branch names its trunk's key (Parent) and the tokens at which it forked; a trunk's loss, taken at the
/// stable LR, is no point of the law. DeviceSeconds: the run's last attempt's wall time from start to end x its workers.
/// </summary>
public sealed record RunResult(
    string Key, string State, long N, long D, double? FlopBudget, double? FinalLoss, int Attempts,
    IReadOnlyList<CurvePoint> Curve, string Role = "Single", string? Parent = null, long? ForkTokens = null, double? DeviceSeconds = null)
{
    public bool IsTrunk => Role == "Trunk";
    /// <summary>Epochs of the corpus's unique training tokens this run trained (D / unique tokens); null when unknown.</summary>
    public double? Epochs { get; init; }
    /// <summary>False when the run reported no validation loss and <see cref="FinalLoss"/> is its last train loss.</summary>
    public bool FinalLossIsVal { get; init; } = true;
}

/// <summary>
/// One report of a run's history: Loss is the mean train loss over the <paramref name="WindowSteps"/> steps ending at
/// Step (a report covers (Step − WindowSteps, Step]); ValLoss where validation ran at this step; Lr of its last step;
/// TokensPerSecond over the window. WindowSteps 1 also stands for "not recorded" (older metrics files).
/// </summary>
public readonly record struct CurvePoint(int Step, long Tokens, double Loss, double? ValLoss = null, double? Lr = null,
    double? TokensPerSecond = null, int WindowSteps = 1);
