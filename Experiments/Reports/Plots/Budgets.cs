namespace Orchestrator.Experiments.Reports.Plots;

/// <summary>The budget a run belongs to, for the plots that colour by budget: its token count D or its FLOP budget C.</summary>
public static class Budgets
{
    /// <summary>Token budgets (smallest first), then FLOP budgets: numeric order, not the labels' string order.</summary>
    public static IEnumerable<IGrouping<string, RunResult>> Groups(IReadOnlyList<RunResult> done) =>
        done.GroupBy(Key).OrderBy(g => g.First().FlopBudget is null ? 0 : 1).ThenBy(g => g.First().FlopBudget ?? g.First().D);

    public static string Key(RunResult r) => r.FlopBudget is { } c ? $"C = {c:G3}" : $"D = {r.D:G3}";
}
