using System.Collections.Immutable;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Limits;

namespace Orchestrator.Experiments.Sweeps;

/// <summary>
/// What <see cref="ExperimentGrain.LaunchAsync"/> checks before anything is stored or started, and whether a launch
/// names the spec a sweep already runs. Invariant: a sweep that would fail these (a name or concurrency over the
/// limits, a storage folder it cannot write, an empty plan, duplicate keys, a branch without its trunk) is refused
/// here, since one stored first would stay Running for ever.
/// </summary>
static class SweepLaunchChecks
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first problem of <paramref name="spec"/> and its plan.</summary>
    public static void Require(SweepSpec spec, IReadOnlyList<PlannedRun> plan)
    {
        if (ResourceLimits.NameProblem(spec.Name, "name") is { } nameProblem) throw new ArgumentException($"sweep {nameProblem}");
        if (spec.Concurrency > ResourceLimits.MaxConcurrency) throw new ArgumentException($"concurrency {spec.Concurrency} is over the limit of {ResourceLimits.MaxConcurrency}");
        if (!Path.IsPathFullyQualified(spec.Storage)) throw new ArgumentException($"storage '{spec.Storage}' is not an absolute path (the coordinator runs in another folder)");
        WritableFolder.Require(spec.Storage, "storage");
        if (plan.Count == 0) throw new ArgumentException("the sweep plans no runs");
        if (plan.Select(p => p.Key).Distinct().Count() != plan.Count) throw new ArgumentException("the plan has duplicate run keys");
        if (plan.FirstOrDefault(p => p.Role == RunRole.Branch && !plan.Any(t => t.Role == RunRole.Trunk && t.Key == p.Parent)) is { } orphan)
            throw new ArgumentException($"branch {orphan.Key} names trunk '{orphan.Parent}', which the plan does not hold");
    }

    /// <summary>Whether two specs are the same sweep (collections compared by their items, options in any order).</summary>
    public static bool SameSpec(SweepSpec a, SweepSpec b) =>
        a with { Models = [], Tokens = [], FlopBudgets = [], Seeds = [], ReportBudgets = [], Options = ImmutableDictionary<string, string>.Empty, Search = null }
        == b with { Models = [], Tokens = [], FlopBudgets = [], Seeds = [], ReportBudgets = [], Options = ImmutableDictionary<string, string>.Empty, Search = null }
        && System.Text.Json.JsonSerializer.Serialize(a.Search) == System.Text.Json.JsonSerializer.Serialize(b.Search)
        && a.Models.SequenceEqual(b.Models) && a.Tokens.SequenceEqual(b.Tokens) && a.FlopBudgets.SequenceEqual(b.FlopBudgets)
        && a.Seeds.SequenceEqual(b.Seeds) && a.ReportBudgets.SequenceEqual(b.ReportBudgets)
        && a.Options.OrderBy(kv => kv.Key).SequenceEqual(b.Options.OrderBy(kv => kv.Key));
}
