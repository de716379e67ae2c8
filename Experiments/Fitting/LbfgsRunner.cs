using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Optimization;

namespace Orchestrator.Experiments.Fitting;

/// <summary>One L-BFGS descent of the LSE objective from one start (MathNet's L-BFGS minimizer with the exact gradient).</summary>
static class LbfgsRunner
{
    /// <summary>The end point and its objective value, or null when the line search gave up or the result is not finite.</summary>
    public static (double[] Theta, double Value)? Minimize(LogSumExpObjective objective, double[] start)
    {
        var grad = new double[5];
        var fn = ObjectiveFunction.Gradient(v =>
        {
            double f = objective.Evaluate(v.AsArray() ?? v.ToArray(), grad);
            return (f, Vector<double>.Build.DenseOfArray((double[])grad.Clone()));
        });
        try
        {
            var minimizer = new LimitedMemoryBfgsMinimizer(1e-12, 1e-12, 1e-12, 10, 2000);
            var result = minimizer.FindMinimum(fn, Vector<double>.Build.DenseOfArray(start));
            var theta = result.MinimizingPoint.ToArray();
            double value = objective.Evaluate(theta, grad);
            return double.IsFinite(value) && theta.All(double.IsFinite) ? (theta, value) : null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Line-search failures from a bad start are normal on a grid; the other starts carry the fit.
            return null;
        }
    }
}
