namespace Orchestrator.Contracts.Limits;

/// <summary>
/// Checks, before any work starts, that a folder where results will be written can be written: not a file, not
/// under a file, creatable, and a file can be made in it. Risk guarded: a run or a sweep that trains for hours and
/// then fails to write its output.
/// </summary>
public static class WritableFolder
{
    /// <summary>
    /// Creates <paramref name="path"/> if needed and probes it; throws <see cref="ArgumentException"/> naming
    /// <paramref name="key"/>. With <paramref name="keepCreated"/> false the folders the probe had to create are
    /// removed again, so a command that fails later (on other input) leaves nothing behind.
    /// </summary>
    public static void Require(string path, string key, bool keepCreated = true)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException($"{key}: missing (a folder to write to)");
        var full = Path.GetFullPath(path);
        if (File.Exists(full)) throw new ArgumentException($"{key} '{path}' is a file, not a folder");
        for (var up = Path.GetDirectoryName(full); up is not null; up = Path.GetDirectoryName(up))
            if (File.Exists(up)) throw new ArgumentException($"{key} '{path}' lies under '{up}', which is a file");
        var probe = Path.Combine(full, $".orch-write-probe-{Guid.NewGuid():N}");
        var created = new List<string>();
        for (var d = full; d is not null && !Directory.Exists(d); d = Path.GetDirectoryName(d)) created.Add(d);
        try
        {
            Directory.CreateDirectory(full);
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            if (!keepCreated) foreach (var d in created) Directory.Delete(d); // deepest first, each empty
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"{key} '{path}' cannot be written: {e.Message}");
        }
    }
}
