using Orchestrator.Contracts.Experiments;
using Orchestrator.Experiments.Search;

namespace Orchestrator.Tests.Experiments.Search;

public sealed class LrRuleTests
{
    static BestTrial At(long n, double lr) => new(n, $"n{n}", new TrialConfig(0, lr, 0, null, null, 8), 3.0);

    [Fact]
    public void Fits_the_power_law_exactly_through_points_on_it_with_a_tight_interval()
    {
        // lr* = 0.5 · N^-0.5 at five sizes, with a little deterministic noise on three of them.
        long[] sizes = [10_000, 30_000, 100_000, 300_000, 1_000_000];
        double[] noise = [1, 1.02, 1, 0.98, 1];
        var rule = LrRule.Fit([.. sizes.Select((n, i) => At(n, 0.5 * Math.Pow(n, -0.5) * noise[i]))]);
        Assert.Equal(-0.5, rule.Exponent, 0.02);
        Assert.True(rule.ExponentLow < rule.Exponent && rule.Exponent < rule.ExponentHigh);
        Assert.True(rule.ExponentHigh - rule.ExponentLow < 0.1);
        Assert.Equal(0.5 * Math.Pow(2e5, -0.5), rule.LrAt(2e5), 0.05 * rule.LrAt(2e5));
    }

    [Fact]
    public void Two_sizes_give_the_line_through_them_without_an_interval_and_one_size_is_an_error()
    {
        var rule = LrRule.Fit([At(10_000, 1e-3), At(1_000_000, 1e-4)]);
        Assert.Equal(-0.5, rule.Exponent, 1e-12);
        Assert.Equal(1e-3, rule.LrAt(10_000), 1e-15);
        Assert.True(double.IsNaN(rule.ExponentLow));
        var e = Assert.Throws<ArgumentException>(() => LrRule.Fit([At(10_000, 1e-3)]));
        Assert.Contains("2 or more sizes", e.Message);
    }
}
