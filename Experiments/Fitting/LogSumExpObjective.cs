namespace Orchestrator.Experiments.Fitting;

/// <summary>
/// The approach-3 objective in the log-sum-exp parametrisation θ = (a = ln A, b = ln B, e = ln E, α, β):
/// pred_i = LSE(a − α·ln N_i, b − β·ln D_i, e) is ln L̂_i, and the objective is Σ w_i·Huber_δ(pred_i − ln L_i).
/// Working in logs keeps A and B (hundreds to thousands) and α, β (tenths) on one scale, which is what lets
/// L-BFGS converge from a coarse grid of starts; the gradient is exact (the LSE's softmax weights).
///
/// The weights w_i are a bootstrap resample's multiplicities (a point drawn twice weighs 2), so a resample costs no
/// copy of the points. One pass over flat arrays with two exponentials and one logarithm per point (the largest LSE
/// term is exp(0) = 1); SIMD was tried and is slower here, since .NET's vector Exp/Log for doubles are not faster
/// than three scalar calls.
/// </summary>
sealed class LogSumExpObjective
{
    readonly double[] _lnN, _lnD, _lnL, _w;
    readonly double _delta;

    public LogSumExpObjective(IReadOnlyList<ScalingPoint> points, double delta, double[]? weights = null)
    {
        _lnN = new double[points.Count];
        _lnD = new double[points.Count];
        _lnL = new double[points.Count];
        for (int i = 0; i < points.Count; i++)
        {
            _lnN[i] = Math.Log(points[i].N);
            _lnD[i] = Math.Log(points[i].D);
            _lnL[i] = Math.Log(points[i].Loss);
        }
        _w = weights ?? Enumerable.Repeat(1.0, points.Count).ToArray();
        _delta = delta;
    }

    LogSumExpObjective(LogSumExpObjective source, double[] weights)
    {
        (_lnN, _lnD, _lnL, _delta) = (source._lnN, source._lnD, source._lnL, source._delta);
        _w = weights;
    }

    /// <summary>The same points with other weights (a bootstrap resample's counts, or 0 for a point left out).</summary>
    public LogSumExpObjective WithWeights(double[] weights) => new(this, weights);

    public int Count => _lnN.Length;

    /// <summary>Objective value at θ; writes the gradient into <paramref name="grad"/> (length 5).</summary>
    public double Evaluate(ReadOnlySpan<double> theta, Span<double> grad)
    {
        double a = theta[0], b = theta[1], e = theta[2], alpha = theta[3], beta = theta[4];
        double f = 0, g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, delta = _delta;
        var lnN = _lnN.AsSpan();
        var lnD = _lnD.AsSpan(0, lnN.Length);
        var lnL = _lnL.AsSpan(0, lnN.Length);
        var w = _w.AsSpan(0, lnN.Length);
        for (int i = 0; i < lnN.Length; i++)
        {
            double wi = w[i];
            if (wi == 0) continue;
            double t1 = a - alpha * lnN[i], t2 = b - beta * lnD[i];
            // exp(t - max) is 1 for the largest term: two exponentials per point, not three.
            double x1, x2, x3, m;
            if (t1 >= t2 && t1 >= e) { m = t1; x1 = 1; x2 = Math.Exp(t2 - m); x3 = Math.Exp(e - m); }
            else if (t2 >= e) { m = t2; x2 = 1; x1 = Math.Exp(t1 - m); x3 = Math.Exp(e - m); }
            else { m = e; x3 = 1; x1 = Math.Exp(t1 - m); x2 = Math.Exp(t2 - m); }
            double s = x1 + x2 + x3;
            double r = m + Math.Log(s) - lnL[i];
            double abs = Math.Abs(r);
            f += wi * (abs <= delta ? 0.5 * r * r : delta * (abs - 0.5 * delta));
            double h = wi * Math.Clamp(r, -delta, delta) / s;
            double w1 = x1 * h, w2 = x2 * h;
            g0 += w1;
            g1 += w2;
            g2 += x3 * h;
            g3 -= w1 * lnN[i];
            g4 -= w2 * lnD[i];
        }
        grad[0] = g0; grad[1] = g1; grad[2] = g2; grad[3] = g3; grad[4] = g4;
        return f;
    }

    public static ChinchillaLaw ToLaw(ReadOnlySpan<double> theta) =>
        new(Math.Exp(theta[2]), Math.Exp(theta[0]), Math.Exp(theta[1]), theta[3], theta[4]);

    public static double[] ToTheta(ChinchillaLaw law) => [Math.Log(law.A), Math.Log(law.B), Math.Log(law.E), law.Alpha, law.Beta];
}
