namespace Orchestrator.Experiments.Fitting;

/// <summary>
/// One L-BFGS descent of the LSE objective from one start: memory 10, backtracking (Armijo) line search, the memory
/// reset when a direction is not a descent. Five parameters, so every vector is a stack-sized array and an iteration
/// costs one or two objective evaluations and nothing else.
///
/// Stops when the gradient is ~0, the step is ~0, or an iteration gains less than 1e-10 of the value for 3 iterations
/// running (the grid starts then fall into the same few minima, which is what the fitter's early stop looks for).
/// Returns null when the objective is not finite at the end (a start in a region where exp overflows).
/// </summary>
static class Lbfgs
{
    const int Dim = ChinchillaFitter.ParameterCount, Memory = 10, MaxIterations = 1000;

    public static (double[] Theta, double Value)? Minimize(LogSumExpObjective objective, double[] start)
    {
        var x = (double[])start.Clone();
        var g = new double[Dim];
        double fx = objective.Evaluate(x, g);
        if (!double.IsFinite(fx) || !Finite(g)) return null;
        var s = new double[Memory][];
        var y = new double[Memory][];
        var rho = new double[Memory];
        for (int k = 0; k < Memory; k++) { s[k] = new double[Dim]; y[k] = new double[Dim]; }
        int stored = 0, newest = -1, stalls = 0;
        var d = new double[Dim];
        var alphas = new double[Memory];
        var xn = new double[Dim];
        var gn = new double[Dim];
        for (int iter = 0; iter < MaxIterations; iter++)
        {
            if (MaxAbs(g) < 1e-12) break;
            Direction(g, s, y, rho, stored, newest, alphas, d);
            double gd = Dot(g, d);
            if (!(gd < 0))
            {
                stored = 0;
                for (int j = 0; j < Dim; j++) d[j] = -g[j];
                gd = -Dot(g, g);
            }
            double t = stored == 0 ? Math.Min(1, 1 / Math.Sqrt(-gd)) : 1, fn = double.NaN;
            bool accepted = false;
            for (int ls = 0; ls < 60; ls++)
            {
                for (int j = 0; j < Dim; j++) xn[j] = x[j] + t * d[j];
                fn = objective.Evaluate(xn, gn);
                if (double.IsFinite(fn) && fn <= fx + 1e-4 * t * gd && Finite(gn)) { accepted = true; break; }
                t *= 0.5;
            }
            if (!accepted)
            {
                if (stored == 0) break; // no descent even along the gradient: at a minimum to rounding
                stored = 0;
                continue;
            }
            double sy = 0, yy = 0, step = 0;
            for (int j = 0; j < Dim; j++)
            {
                double sj = xn[j] - x[j], yj = gn[j] - g[j];
                sy += sj * yj;
                yy += yj * yj;
                step = Math.Max(step, Math.Abs(sj));
            }
            if (sy > 1e-300 && yy > 0) // else the pair would spoil the curvature model: leave it out
            {
                newest = (newest + 1) % Memory;
                for (int j = 0; j < Dim; j++) { s[newest][j] = xn[j] - x[j]; y[newest][j] = gn[j] - g[j]; }
                rho[newest] = 1 / sy;
                stored = Math.Min(stored + 1, Memory);
            }
            double gain = fx - fn;
            (x, xn) = (xn, x);
            (g, gn) = (gn, g);
            fx = fn;
            if (step < 1e-14) break;
            stalls = gain <= 1e-10 * Math.Abs(fx) ? stalls + 1 : 0;
            if (stalls >= 3) break;
        }
        return double.IsFinite(fx) && Finite(x) ? (x, fx) : null;
    }

    /// <summary>The two-loop recursion: d = −H·g with H from the stored (s, y) pairs, scaled by s·y / y·y.</summary>
    static void Direction(double[] g, double[][] s, double[][] y, double[] rho, int stored, int newest, double[] alphas, double[] d)
    {
        for (int j = 0; j < Dim; j++) d[j] = g[j];
        for (int k = 0, idx = newest; k < stored; k++, idx = (idx + Memory - 1) % Memory)
        {
            alphas[idx] = rho[idx] * Dot(s[idx], d);
            for (int j = 0; j < Dim; j++) d[j] -= alphas[idx] * y[idx][j];
        }
        if (stored > 0)
        {
            double gamma = Dot(s[newest], y[newest]) / Dot(y[newest], y[newest]);
            for (int j = 0; j < Dim; j++) d[j] *= gamma;
        }
        int oldest = (newest - stored + 1 + Memory) % Memory;
        for (int k = 0, idx = oldest; k < stored; k++, idx = (idx + 1) % Memory)
        {
            double b = rho[idx] * Dot(y[idx], d);
            for (int j = 0; j < Dim; j++) d[j] += (alphas[idx] - b) * s[idx][j];
        }
        for (int j = 0; j < Dim; j++) d[j] = -d[j];
    }

    static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (int j = 0; j < Dim; j++) sum += a[j] * b[j];
        return sum;
    }

    static double MaxAbs(double[] a)
    {
        double m = 0;
        foreach (var v in a) m = Math.Max(m, Math.Abs(v));
        return m;
    }

    static bool Finite(double[] a)
    {
        foreach (var v in a) if (!double.IsFinite(v)) return false;
        return true;
    }
}
