namespace Orchestrator.Experiments.Fitting;

/// <summary>The Huber loss and its derivative: quadratic within δ, linear outside, so outliers pull weakly.</summary>
public static class Huber
{
    public static double Loss(double r, double delta)
    {
        double a = Math.Abs(r);
        return a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta);
    }

    public static double Derivative(double r, double delta) => Math.Clamp(r, -delta, delta);
}
