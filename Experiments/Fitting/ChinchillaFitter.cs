namespace Orchestrator.Experiments.Fitting;

/// <summary>How to fit L(N, D); the defaults are Hoffmann et al.'s (Huber δ = 1e-3 on log loss).</summary>
public sealed record ChinchillaFitOptions
{
    public double HuberDelta { get; init; } = 1e-3;
    /// <summary>Bootstrap resamples for the 95% intervals; 0 for none.</summary>
    public int Bootstrap { get; init; }
    /// <summary>Each resample is refitted from this many of the full fit's best distinct end points (not the whole grid).</summary>
    public int BootstrapStarts { get; init; } = 4;
    public int Seed { get; init; } = 1;
    /// <summary>Starting grid; null for Hoffmann et al.'s 4,500 starts.</summary>
    public IReadOnlyList<double[]>? Starts { get; init; }
    /// <summary>Gets (phase, done, total) now and then: "starts" while descending from the grid, "bootstrap" while resampling.</summary>
    public Action<FitProgress>? Progress { get; init; }
}

/// <summary>How far a fit has got: <see cref="Phase"/> is "starts" or "bootstrap".</summary>
public readonly record struct FitProgress(string Phase, int Done, int Total);

/// <summary>
/// Chinchilla approach 3: minimise the Huber loss of log-loss residuals in the LSE parametrisation by L-BFGS from a
/// grid of starts and keep the best (Hoffmann et al. 2022; Besiroglu et al. 2024).
///
/// Cost: the objective is evaluated at every grid start (one pass each), and L-BFGS runs from the starts in order of
/// that value, a batch of starts in parallel at a time, until a batch improves nothing and at least
/// <see cref="AgreeingStarts"/> descents have ended at the best value: the grid is there to find the basin, and the
/// remaining thousands of starts land in it again. Bootstrap intervals refit each resample (point weights, no copies)
/// from the full fit's best few end points. Deterministic: batches are fixed, the stop is decided between batches,
/// and each resample's generator is seeded by its index.
/// </summary>
public static class ChinchillaFitter
{
    public const int ParameterCount = 5;
    /// <summary>Descents that must reach the best value (within 1e-9 of it, relative, or 1e-15) before the grid search stops.</summary>
    public const int AgreeingStarts = 3;
    const int MinimumStarts = 32;

    /// <summary>α, β ∈ {0, .5, …, 2}, e ∈ {−1, −.5, …, 1}, a, b ∈ {0, 5, …, 25}: 4,500 starts.</summary>
    public static IReadOnlyList<double[]> HoffmannGrid { get; } = BuildGrid();

    public static ChinchillaFit Fit(IReadOnlyList<ScalingPoint> points, ChinchillaFitOptions? options = null,
        CancellationToken ct = default)
    {
        options ??= new ChinchillaFitOptions();
        ScalingPoints.Validate(points, ParameterCount);
        if (options.Bootstrap < 0) throw new ArgumentException($"bootstrap must be >= 0 resamples (got {options.Bootstrap})");
        if (!(options.HuberDelta > 0)) throw new ArgumentException($"Huber delta must be > 0 (got {options.HuberDelta})");

        var objective = new LogSumExpObjective(points, options.HuberDelta);
        var starts = options.Starts ?? HoffmannGrid;
        var (converged, tried) = SearchGrid(objective, starts, options.Progress, ct);
        if (converged.Count == 0)
            throw new InvalidOperationException("no start of the fit converged: the points do not follow L = E + A/N^a + B/D^b");

        var best = converged[0];
        var seeds = DistinctEnds(converged, options.BootstrapStarts);
        var bootstrap = options.Bootstrap > 0 ? Bootstrap(objective, points.Count, options, seeds, ct) : [];
        return new ChinchillaFit(LogSumExpObjective.ToLaw(best.Theta), best.Value, points.Count, tried,
            converged.Count, bootstrap) { Seeds = seeds };
    }

    /// <summary>Refits with per-point weights (0 leaves a point out) from the given seeds; null when no descent ends finite.</summary>
    internal static ChinchillaLaw? Refit(LogSumExpObjective objective, IReadOnlyList<double[]> seeds)
    {
        (double[] Theta, double Value)? best = null;
        foreach (var start in seeds)
        {
            var end = Lbfgs.Minimize(objective, start);
            if (end is { } e && (best is null || e.Value < best.Value.Value)) best = e;
        }
        return best is { } x ? LogSumExpObjective.ToLaw(x.Theta) : null;
    }

    static (List<(double[] Theta, double Value)> Converged, int Tried) SearchGrid(LogSumExpObjective objective,
        IReadOnlyList<double[]> starts, Action<FitProgress>? progress, CancellationToken ct)
    {
        var initial = new double[starts.Count];
        Parallel.For(0, starts.Count, new ParallelOptions { CancellationToken = ct }, () => new double[ParameterCount],
            (i, _, grad) => { initial[i] = objective.Evaluate(starts[i], grad); return grad; }, _ => { });
        var order = Enumerable.Range(0, starts.Count).Where(i => double.IsFinite(initial[i]))
            .OrderBy(i => initial[i]).ThenBy(i => i).ToArray();

        int batch = Math.Max(8, 4 * Environment.ProcessorCount);
        var ends = new List<(double[] Theta, double Value)>();
        double bestValue = double.PositiveInfinity;
        int tried = 0;
        while (tried < order.Length)
        {
            ct.ThrowIfCancellationRequested();
            int count = Math.Min(batch, order.Length - tried);
            var found = new (double[] Theta, double Value)?[count];
            int offset = tried;
            Parallel.For(0, count, new ParallelOptions { CancellationToken = ct },
                k => found[k] = Lbfgs.Minimize(objective, starts[order[offset + k]]));
            tried += count;
            ends.AddRange(found.Where(f => f is not null).Select(f => f!.Value));
            progress?.Invoke(new FitProgress("starts", tried, order.Length));
            double batchBest = ends.Count > 0 ? ends.Min(e => e.Value) : double.PositiveInfinity;
            bool improved = batchBest < bestValue - Tolerance(bestValue);
            bestValue = Math.Min(bestValue, batchBest);
            int agreeing = ends.Count(e => e.Value <= bestValue + Tolerance(bestValue));
            if (tried >= MinimumStarts && !improved && agreeing >= AgreeingStarts) break;
        }
        return (ends.OrderBy(e => e.Value).ToList(), tried);
    }

    /// <summary>Values this close are the same minimum: 1e-9 relative, or 1e-15 absolute (a perfect fit's value is ~1e-31).</summary>
    static double Tolerance(double value) => double.IsFinite(value) ? 1e-9 * Math.Abs(value) + 1e-15 : 0;

    static List<ChinchillaLaw> Bootstrap(LogSumExpObjective objective, int count, ChinchillaFitOptions options,
        List<double[]> seeds, CancellationToken ct)
    {
        var laws = new ChinchillaLaw?[options.Bootstrap];
        int done = 0;
        Parallel.For(0, options.Bootstrap, new ParallelOptions { CancellationToken = ct }, b =>
        {
            // One Random per resample, seeded by its index: the same intervals whatever the thread schedule.
            var rng = new Random(unchecked(options.Seed * 1_000_003 + b * 7_919)); // not HashCode.Combine: randomised per process
            var weights = new double[count];
            for (int i = 0; i < count; i++) weights[rng.Next(count)]++;
            laws[b] = Refit(objective.WithWeights(weights), seeds);
            int n = Interlocked.Increment(ref done);
            if (options.Progress is { } p && (n % 50 == 0 || n == options.Bootstrap)) p(new FitProgress("bootstrap", n, options.Bootstrap));
        });
        return laws.Where(l => l is not null).Select(l => l!).ToList();
    }

    /// <summary>The best end points that differ from each other (grid starts mostly land on the same few minima).</summary>
    static List<double[]> DistinctEnds(List<(double[] Theta, double Value)> sorted, int count)
    {
        var picked = new List<double[]>();
        foreach (var (theta, _) in sorted)
        {
            if (picked.Count >= Math.Max(1, count)) break;
            if (picked.All(p => p.Zip(theta).Max(z => Math.Abs(z.First - z.Second)) > 1e-3)) picked.Add(theta);
        }
        return picked;
    }

    static List<double[]> BuildGrid()
    {
        var grid = new List<double[]>();
        for (double alpha = 0; alpha <= 2; alpha += 0.5)
        for (double beta = 0; beta <= 2; beta += 0.5)
        for (double e = -1; e <= 1; e += 0.5)
        for (double a = 0; a <= 25; a += 5)
        for (double b = 0; b <= 25; b += 5)
            grid.Add([a, b, e, alpha, beta]);
        return grid;
    }
}
