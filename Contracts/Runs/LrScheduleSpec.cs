namespace Orchestrator.Contracts.Runs;

/// <summary>
/// The learning-rate schedule's settings as a run states them (RunSpec, sweep specs, `orch train` flags), and the
/// one piece of its arithmetic that planners need too: where a WSD cooldown starts. A branch forked from a trunk at
/// <see cref="CooldownStart"/> and a run trained from scratch to the same horizon see the same LR at every step only
/// because the trainer and the sweep planner both take the start from here.
/// </summary>
public static class LrScheduleSpec
{
    public const string Cosine = "cosine", Wsd = "wsd", Constant = "constant";
    public const string Linear = "linear", OneMinusSqrt = "1-sqrt", CosineShape = "cosine";
    public const double DefaultCooldownFraction = 0.2;

    public static readonly string[] Kinds = [Cosine, Wsd, Constant];
    public static readonly string[] Shapes = [Linear, OneMinusSqrt, CosineShape];

    /// <summary>Steps of a WSD cooldown over <paramref name="horizon"/> steps: round(f·horizon), at least 1.</summary>
    public static int CooldownSteps(int horizon, double fraction) =>
        Math.Max(1, (int)Math.Round(fraction * horizon, MidpointRounding.AwayFromZero));

    /// <summary>The first step of the cooldown (= the steps a trunk has done when a branch forks from it).</summary>
    public static int CooldownStart(int horizon, double fraction) => horizon - CooldownSteps(horizon, fraction);

    /// <summary>
    /// What is wrong with these settings (empty when nothing), each naming its key as <paramref name="key"/> spells
    /// it (YAML keys or CLI flags). <paramref name="horizon"/> and <paramref name="warmup"/> are checked together
    /// only when both are known.
    /// </summary>
    public static IReadOnlyList<string> Problems(string schedule, double fraction, string shape, double? minLr, double peak,
        int? horizon, int? warmup, Func<string, string> key)
    {
        var p = new List<string>();
        if (!Kinds.Contains(schedule)) p.Add($"{key("schedule")}: '{schedule}' is not one of {string.Join(", ", Kinds)}");
        if (!(fraction > 0 && fraction < 1)) p.Add($"{key("cooldown_fraction")}: {fraction} must be inside (0, 1), e.g. 0.2");
        if (!Shapes.Contains(shape)) p.Add($"{key("cooldown_shape")}: '{shape}' is not one of {string.Join(", ", Shapes)}");
        if (minLr is double m && !(m >= 0 && m <= peak && double.IsFinite(m)))
            p.Add($"{key("min_lr")}: {m} must be between 0 and the peak lr {peak}");
        if (schedule == Wsd && fraction > 0 && fraction < 1 && horizon is int h && h >= 1 && warmup is int w)
        {
            int start = CooldownStart(h, fraction);
            if (start < w)
                p.Add($"{key("cooldown_fraction")}: the cooldown of a {h}-step run starts at step {start}, before warmup ends at step {w}; lower the warmup or the fraction, or train longer");
        }
        return p;
    }
}
