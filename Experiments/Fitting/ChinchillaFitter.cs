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
}

/// <summary>
/// Chinchilla approach 3: minimise the Huber loss of log-loss residuals in the LSE parametrisation by L-BFGS from a
/// grid of starts and keep the best (Hoffmann et al. 2022; Besiroglu et al. 2024). Bootstrap intervals refit each
/// resample from the full fit's best few end points: the grid is there to find the basin, which resampling
/// does not move, and it keeps 1,000 resamples in seconds.
/// </summary>
public static class ChinchillaFitter
{
    public const int ParameterCount = 5;

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
        var ends = new (double[] Theta, double Value)?[starts.Count];
        Parallel.For(0, starts.Count, new ParallelOptions { CancellationToken = ct },
            i => ends[i] = LbfgsRunner.Minimize(objective, starts[i]));
        var converged = ends.Where(e => e is not null).Select(e => e!.Value).OrderBy(e => e.Value).ToList();
        if (converged.Count == 0)
            throw new InvalidOperationException("no start of the fit converged: the points do not follow L = E + A/N^a + B/D^b");

        var best = converged[0];
        var seeds = DistinctEnds(converged, options.BootstrapStarts);
        var bootstrap = options.Bootstrap > 0 ? Bootstrap(points, options, seeds, ct) : [];
        return new ChinchillaFit(LogSumExpObjective.ToLaw(best.Theta), best.Value, points.Count, starts.Count,
            converged.Count, bootstrap);
    }

    static List<ChinchillaLaw> Bootstrap(IReadOnlyList<ScalingPoint> points, ChinchillaFitOptions options,
        List<double[]> seeds, CancellationToken ct)
    {
        var laws = new ChinchillaLaw?[options.Bootstrap];
        Parallel.For(0, options.Bootstrap, new ParallelOptions { CancellationToken = ct }, b =>
        {
            // One Random per resample, seeded by its index: the same intervals whatever the thread schedule.
            var rng = new Random(unchecked(options.Seed * 1_000_003 + b * 7_919)); // not HashCode.Combine: randomised per process
            var sample = new ScalingPoint[points.Count];
            for (int i = 0; i < sample.Length; i++) sample[i] = points[rng.Next(points.Count)];
            var objective = new LogSumExpObjective(sample, options.HuberDelta);
            (double[] Theta, double Value)? best = null;
            foreach (var start in seeds)
            {
                var end = LbfgsRunner.Minimize(objective, start);
                if (end is { } e && (best is null || e.Value < best.Value.Value)) best = e;
            }
            laws[b] = best is { } x ? LogSumExpObjective.ToLaw(x.Theta) : null;
        });
        return laws.Where(l => l is not null).Select(l => l!).ToList();
    }

    /// <summary>The best end points that differ from each other (grid starts mostly land on the same few minima).</summary>
    static List<double[]> DistinctEnds(List<(double[] Theta, double Value)> sorted, int count)
    {
        var picked = new List<double[]>();
        foreach (var (theta, _) in sorted)
        {
            if (picked.Count >= count) break;
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
