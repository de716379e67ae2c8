using Orchestrator.Contracts.Runs;

namespace Orchestrator.Worker.Training;

/// <summary>
/// The learning rate at a step: a pure function of (step, horizon, settings), with no state, so a resumed run, an
/// elastic run on another world size and a branch forked from a trunk all see the LR a run from scratch would.
/// Every schedule warms up the same way, linearly to the peak: lr(s) = peak·(s+1)/(W+1) for s &lt; W (nanoGPT's
/// get_lr). After warmup:
/// <list type="bullet">
/// <item>cosine: min + ½(1 + cos(π·(s−W)/(H−W)))·(peak − min), the floor from the horizon H on (nanoGPT).</item>
/// <item>constant: the peak.</item>
/// <item>wsd (warmup-stable-decay, Hägele et al. 2024): the peak until the cooldown starts at S = H − round(f·H)
/// (<see cref="LrScheduleSpec.CooldownStart"/>), then min + g(p)·(peak − min) with p = (s − S)/(H − S) and
/// g(p) = 1 − p (linear), 1 − √p (1-sqrt) or ½(1 + cos(πp)) (cosine); the floor from H on.</item>
/// </list>
/// Before its cooldown a WSD run's LR does not depend on H, and equals a constant schedule's with the same warmup:
/// this is what lets one trunk serve every horizon.
/// </summary>
public sealed record LrSchedule(double Peak, double Min, int Warmup, int Horizon,
    string Kind = LrScheduleSpec.Cosine, double CooldownFraction = LrScheduleSpec.DefaultCooldownFraction, string Shape = LrScheduleSpec.OneMinusSqrt)
{
    public int CooldownStart => LrScheduleSpec.CooldownStart(Horizon, CooldownFraction);

    public double At(long step)
    {
        if (step < Warmup) return Peak * (step + 1) / (Warmup + 1);
        switch (Kind)
        {
            case LrScheduleSpec.Constant:
                return Peak;
            case LrScheduleSpec.Wsd:
            {
                if (step >= Horizon) return Min;
                int start = CooldownStart;
                if (step < start) return Peak;
                double p = (double)(step - start) / (Horizon - start);
                return Min + Decay(Shape, p) * (Peak - Min);
            }
            case LrScheduleSpec.Cosine:
            {
                if (step >= Horizon) return Min;
                double ratio = (double)(step - Warmup) / Math.Max(1, Horizon - Warmup);
                return Min + 0.5 * (1.0 + Math.Cos(Math.PI * ratio)) * (Peak - Min);
            }
            default:
                throw new ArgumentException($"schedule '{Kind}' is not one of {string.Join(", ", LrScheduleSpec.Kinds)}");
        }
    }

    /// <summary>The cooldown's factor at progress p in [0, 1): 1 at its start, falling towards 0.</summary>
    static double Decay(string shape, double p) => shape switch
    {
        LrScheduleSpec.Linear => 1 - p,
        LrScheduleSpec.OneMinusSqrt => 1 - Math.Sqrt(p),
        LrScheduleSpec.CosineShape => 0.5 * (1 + Math.Cos(Math.PI * p)),
        _ => throw new ArgumentException($"cooldown shape '{shape}' is not one of {string.Join(", ", LrScheduleSpec.Shapes)}"),
    };
}
