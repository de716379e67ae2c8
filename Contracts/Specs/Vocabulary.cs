namespace Orchestrator.Contracts.Specs;

/// <summary>
/// One name per concept across flags, YAML keys and JSON fields (docs/CLI.md "Vocabulary"), and the old spellings
/// that were renamed. The risk is an old name that silently does something else, or nothing: an old flag or key is
/// refused with one line naming its new spelling, never accepted as an alias, so scripts learn the new name once.
/// </summary>
public static class Vocabulary
{
    /// <summary>
    /// Old flag -> its new spellings; a command refuses the old one by the new spelling it has (`--warmup` is
    /// `--warmup-steps` for `orch train`, `--warmup-iters` for `orch bench comm`).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string[]> RenamedFlags = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["--block"] = ["--block-size"],
        ["--warmup"] = ["--warmup-steps", "--warmup-iters"],
        ["--world"] = ["--world-size"],
        ["--output"] = ["--out"],
        // `orch worker` joins the coordinator's silo; console commands' --coordinator is its gateway, another port.
        ["--coordinator"] = ["--coordinator-silo"],
    };

    /// <summary>Old YAML key (RunSpec or sweep, at any depth) -> its new spelling.</summary>
    public static readonly IReadOnlyDictionary<string, string> RenamedKeys = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["checkpoint_every"] = "checkpoint.every",
        ["warmup"] = "warmup_steps",
        ["block"] = "block_size",
    };

    /// <summary>
    /// The error for a token <paramref name="token"/> (a flag, possibly `--flag=value`) that is an old name whose new
    /// spelling is among <paramref name="known"/>, the command's flags; null when it is not one.
    /// </summary>
    public static string? RenamedFlag(string token, IEnumerable<string> known)
    {
        var name = token.Split('=', 2)[0];
        if (!RenamedFlags.TryGetValue(name, out var now)) return null;
        var have = now.Intersect(known, StringComparer.Ordinal).FirstOrDefault();
        return have is null ? null : $"{name} was renamed {have}";
    }

    /// <summary>The error for an unknown YAML key that is an old name; null when it is not one.</summary>
    public static string? RenamedKey(string key) =>
        RenamedKeys.TryGetValue(key, out var now) ? $"{key} was renamed {now}" : null;
}
