namespace Orchestrator.Contracts.Runs;

/// <summary>
/// The model parametrizations a run can ask for and the one check of a parametrization with its base width, shared
/// by `orch train`, RunSpec validation and the sweep reader so the three refuse the same things with the same words.
/// "sp" is GPT-2's standard parametrization; "mup" is the maximal update parametrization (Yang et al. 2022), whose
/// multipliers are 1 at n_embd = base_width and scale with base_width / n_embd above it. Risk it closes: a μP run
/// without a base width, or narrower than its base, would train with multipliers nobody chose.
/// </summary>
public static class Parametrizations
{
    public const string Standard = "sp";
    public const string Mup = "mup";

    public static readonly string[] Names = [Standard, Mup];

    /// <summary>
    /// The problem with this parametrization, base width and width (<paramref name="where"/> names the source: a
    /// key; null for no prefix), or null when they go together.
    /// </summary>
    public static string? Problem(string parametrization, int baseWidth, int width, string? where)
    {
        where = where is null ? "" : where + ": ";
        if (parametrization == Standard)
            return baseWidth == 0 ? null : $"{where}base_width {baseWidth} applies only to parametrization mup (this one is sp)";
        if (parametrization != Mup)
            return $"{where}parametrization '{parametrization}' is not one of {string.Join(", ", Names)}";
        if (baseWidth < 1)
            return $"{where}parametrization mup needs base_width, the width its learning rate was tuned at (e.g. base_width {Math.Min(width, 128)})";
        if (baseWidth > width)
            return $"{where}base_width {baseWidth} is larger than n_embd {width}; μP scales up from its base width, so it must be at most the model's width";
        return null;
    }
}
