namespace Orchestrator.Experiments.Fitting;

/// <summary>
/// L(N, D) = E + A/N^α + B/D^β (Hoffmann et al. 2022, approach 3), with the compute-optimal allocation that
/// follows from it under C = 6·N·D.
/// </summary>
public sealed record ChinchillaLaw(double E, double A, double B, double Alpha, double Beta)
{
    /// <summary>Chinchilla's published fit (Hoffmann et al. 2022, eq. 10).</summary>
    public static ChinchillaLaw Chinchilla { get; } = new(1.69, 406.4, 410.7, 0.34, 0.28);

    public double Predict(double n, double d) => E + A / Math.Pow(n, Alpha) + B / Math.Pow(d, Beta);

    /// <summary>
    /// Minimises L(N, C/(6N)) over N: N* = G·(C/6)^(β/(α+β)), D* = G⁻¹·(C/6)^(α/(α+β)), G = (αA/(βB))^(1/(α+β)).
    /// </summary>
    public ComputeOptimum ComputeOptimal(double flops)
    {
        if (!(flops > 0)) throw new ArgumentOutOfRangeException(nameof(flops), flops, "compute budget must be > 0 FLOPs");
        double sum = Alpha + Beta;
        double g = Math.Pow(Alpha * A / (Beta * B), 1 / sum);
        double n = g * Math.Pow(flops / 6, Beta / sum);
        double d = flops / (6 * n);
        return new ComputeOptimum(flops, n, d, Predict(n, d));
    }
}

/// <summary>The best model size N and token count D for a FLOP budget C = 6·N·D, and the loss the law predicts there.</summary>
public sealed record ComputeOptimum(double Flops, double N, double D, double Loss);
