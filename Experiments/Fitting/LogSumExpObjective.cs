namespace Orchestrator.Experiments.Fitting;

/// <summary>
/// The approach-3 objective in the log-sum-exp parametrisation θ = (a = ln A, b = ln B, e = ln E, α, β):
/// pred_i = LSE(a − α·ln N_i, b − β·ln D_i, e) is ln L̂_i, and the objective is Σ Huber_δ(pred_i − ln L_i).
/// Working in logs keeps A and B (hundreds to thousands) and α, β (tenths) on one scale, which is what lets
/// L-BFGS converge from a coarse grid of starts; the gradient is exact (the LSE's softmax weights).
/// </summary>
sealed class LogSumExpObjective
{
    readonly double[] _lnN, _lnD, _lnL;
    readonly double _delta;

    public LogSumExpObjective(IReadOnlyList<ScalingPoint> points, double delta)
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
        _delta = delta;
    }

    /// <summary>Objective value at θ; writes the gradient into <paramref name="grad"/> (length 5).</summary>
    public double Evaluate(ReadOnlySpan<double> theta, Span<double> grad)
    {
        double a = theta[0], b = theta[1], e = theta[2], alpha = theta[3], beta = theta[4];
        double f = 0;
        grad.Clear();
        for (int i = 0; i < _lnN.Length; i++)
        {
            double t1 = a - alpha * _lnN[i], t2 = b - beta * _lnD[i], t3 = e;
            double m = Math.Max(t1, Math.Max(t2, t3));
            double x1 = Math.Exp(t1 - m), x2 = Math.Exp(t2 - m), x3 = Math.Exp(t3 - m);
            double s = x1 + x2 + x3;
            double r = m + Math.Log(s) - _lnL[i];
            f += Huber.Loss(r, _delta);
            double h = Huber.Derivative(r, _delta) / s;
            double w1 = x1 * h, w2 = x2 * h;
            grad[0] += w1;
            grad[1] += w2;
            grad[2] += x3 * h;
            grad[3] -= w1 * _lnN[i];
            grad[4] -= w2 * _lnD[i];
        }
        return f;
    }

    public static ChinchillaLaw ToLaw(ReadOnlySpan<double> theta) =>
        new(Math.Exp(theta[2]), Math.Exp(theta[0]), Math.Exp(theta[1]), theta[3], theta[4]);
}
