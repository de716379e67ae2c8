using Orchestrator.Contracts.Experiments;

namespace Orchestrator.Dashboard.Documents;

/// <summary>
/// A sweep as `orch sweep status ID --json` prints it and /api/sweeps/ID serves it; `orch sweep list --json` and
/// /api/sweeps give one per sweep. N is non-embedding parameters, D the tokens trained (planned until the run ends),
/// Tokens the planned budget (the grid's column). Role: single, trunk or branch (a branching sweep's branch forks its
/// Parent trunk at ForkStep). Trial: a search trial's configuration; StoppedAtTokens: where early stopping ended it;
/// LrRule: the learning-rate rule fitted to the search's best trials.
/// </summary>
public sealed record SweepJson(
    string Id, string Name, string State, string Folder, int Done, int Failed, IReadOnlyList<SweepRunJson> Runs,
    DateTimeOffset CreatedAt, DateTimeOffset? EndedAt, int Total, LrRuleFit? LrRule = null)
{
    public static SweepJson From(SweepStatus s) => new(
        s.Id, s.Name, s.State.ToString(), s.Folder, s.Done, s.Failed,
        [.. s.Runs.Select(r => new SweepRunJson(
            r.Plan.Key, r.Plan.NonEmbeddingParams, r.TrainedTokens ?? r.Plan.Tokens, r.Plan.FlopBudget,
            r.State?.ToString() ?? "Queued", r.Step, r.TotalSteps, r.Loss, r.ValLoss, r.Attempts, r.RunId, r.Failures,
            r.Plan.Role.ToString().ToLowerInvariant(), r.Plan.Parent, r.Plan.ForkStep, r.ParentRunId,
            r.Plan.Tokens, r.Plan.Model.NLayer, r.Plan.Model.NEmbd, r.Plan.Lr, r.Plan.Seed, r.Plan.Trial, r.StoppedAtTokens))],
        s.CreatedAt, s.EndedAt, s.Runs.Length, s.LrRule);
}

public sealed record SweepRunJson(
    string Key, long N, long D, double? FlopBudget, string State, int Step, int TotalSteps, double? Loss, double? ValLoss,
    int Attempts, string? RunId, IReadOnlyList<string> Failures, string Role, string? Parent, int? ForkStep, string? ParentRunId,
    long Tokens, int NLayer, int NEmbd, double Lr, int Seed, TrialConfig? Trial = null, long? StoppedAtTokens = null);
