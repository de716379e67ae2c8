using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;
using Orchestrator.Experiments.Sweeps;
using Xunit;

namespace Orchestrator.Experiments.Tests.Sweeps;

public class SubmitOrderTests
{
    static readonly ModelShape Model = new() { NLayer = 1, NHead = 1, NEmbd = 16, BlockSize = 10 };

    static PlannedRun Run(string key, long n, long tokens, RunRole role = RunRole.Single, int steps = 100, int? fork = null) =>
        new(key, Model, n, tokens, steps, 1e-3, 1, null, role, ForkStep: fork);

    [Fact]
    public void The_most_compute_goes_first_and_ties_keep_the_plan_order()
    {
        // The planner's order (by N, then D) puts the largest run last: it would train alone at the end of the sweep.
        var plans = new[]
        {
            Run("n1-d4", 1_000_000, 4_000_000), Run("n1-d16", 1_000_000, 16_000_000),
            Run("n50-d4", 50_000_000, 4_000_000), Run("n50-d16", 50_000_000, 16_000_000),
            Run("n4-d16", 4_000_000, 16_000_000), Run("n16-d4", 16_000_000, 4_000_000), // equal compute: plan order
        };
        Assert.Equal(["n50-d16", "n50-d4", "n4-d16", "n16-d4", "n1-d16", "n1-d4"], SubmitOrder.Of(plans).Select(i => plans[i].Key));
    }

    [Fact]
    public void A_branch_counts_only_its_cooldown()
    {
        var trunk = Run("trunk", 10_000_000, 8_000_000, RunRole.Trunk, steps: 800);
        var branch = Run("d10", 10_000_000, 10_000_000, RunRole.Branch, steps: 1000, fork: 800);
        Assert.Equal(6.0 * 10_000_000 * 2_000_000, SubmitOrder.Compute(branch));
        Assert.Equal(6.0 * 10_000_000 * 8_000_000, SubmitOrder.Compute(trunk));
        Assert.Equal([1, 0], SubmitOrder.Of([branch, trunk]));
    }
}
