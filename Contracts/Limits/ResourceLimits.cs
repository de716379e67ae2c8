namespace Orchestrator.Contracts.Limits;

/// <summary>
/// The bounds on what a user can ask for, checked before anything is started or stored, and named with their value
/// in the error. Risk guarded: one request (a huge name, a huge spec, thousands of processes) that takes the
/// coordinator's memory, the network frame limit or the machine.
/// </summary>
public static class ResourceLimits
{
    /// <summary>Run and sweep names (they name folders, log lines and grain keys).</summary>
    public const int MaxNameLength = 100;
    /// <summary>A RunSpec or sweep YAML file.</summary>
    public const int MaxSpecBytes = 1 << 20;
    /// <summary>Workers of one run (workers.max, a sweep's workers).</summary>
    public const int MaxWorkersPerRun = 1024;
    /// <summary>Runs a sweep trains at once.</summary>
    public const int MaxConcurrency = 256;
    /// <summary>Entries of a spec's free-form options map, and the length of each key and value.</summary>
    public const int MaxOptions = 64, MaxOptionLength = 1024;

    /// <summary>Rank processes `--nproc` may start on this host: its cores, at least 8.</summary>
    public static int MaxLocalRanks => Math.Max(8, Environment.ProcessorCount);

    /// <summary>Null when <paramref name="name"/> is a valid name, else the problem (key included).</summary>
    public static string? NameProblem(string? name, string key)
    {
        if (string.IsNullOrWhiteSpace(name)) return $"{key}: missing";
        if (name.Length > MaxNameLength) return $"{key}: {name.Length} characters; at most {MaxNameLength}";
        if (!name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') || !char.IsAsciiLetterOrDigit(name[0]))
            return $"{key}: '{name}' must start with a letter or digit and hold only letters, digits, '-', '_' and '.'";
        return null;
    }

    /// <summary>Throws when a spec file is larger than <see cref="MaxSpecBytes"/>.</summary>
    public static void RequireSpecSize(string path)
    {
        var bytes = new FileInfo(path).Length;
        if (bytes > MaxSpecBytes) throw new ArgumentException($"{path}: {bytes:N0} bytes; a spec may hold at most {MaxSpecBytes:N0}");
    }
}
