using System.Text.Json;
using Orchestrator.Contracts.Cluster;

namespace Orchestrator.Cli.Hosting;

/// <summary>
/// What `orch local` tells console commands: its connection file STATE/clusters/NAME.json (cluster id, gateway, pid),
/// and its grain-state folder STATE/clusters/NAME/state. STATE is $ORCH_STATE_DIR, else $XDG_STATE_HOME/orch, else
/// ~/.local/state/orch: one per user, so two users (or two tests with their own ORCH_STATE_DIR) never meet.
/// Invariant: a file names a live cluster only while its process runs; a file whose pid is gone is stale and is
/// ignored (and replaced by the next `orch local` of that name), so a console never connects by a dead cluster's ports.
/// </summary>
public static class LocalClusters
{
    /// <param name="TokenFile">The cluster token's file when `orch local --token-file` named one (null: the default file,
    /// <see cref="TokenFileOf"/>, or $ORCH_CLUSTER_TOKEN); a path, never the token.</param>
    public sealed record Entry(string ClusterId, string Gateway, int SiloPort, int? MetricsPort, int Pid, string? StateFolder, DateTimeOffset StartedAt,
        string? TokenFile = null);

    public static string StateRoot()
    {
        if (Environment.GetEnvironmentVariable("ORCH_STATE_DIR") is { Length: > 0 } dir) return Path.GetFullPath(dir);
        if (Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } xdg) return Path.Combine(Path.GetFullPath(xdg), "orch");
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state", "orch");
    }

    static string Folder => Path.Combine(StateRoot(), "clusters");

    public static string FileOf(string clusterId) => Path.Combine(Folder, clusterId + ".json");

    /// <summary>Where a cluster's coordinator keeps its grain state by default.</summary>
    public static string StateFolderOf(string clusterId) => Path.Combine(Folder, clusterId, "state");

    /// <summary>Where a cluster's coordinator keeps the token it generated (mode 0600), and its workers and consoles look.</summary>
    public static string TokenFileOf(string clusterId) => Path.Combine(Folder, clusterId, "token");

    public static void RequireValidId(string id, string flag)
    {
        if (!ClusterNames.IsValidClusterId(id))
            throw new ArgumentException($"{flag}: '{id}' is not a cluster name (1..40 of a-z, 0-9, '-', '_', '.', starting with a letter or digit)");
    }

    /// <summary>Writes the file whole (temporary file, then rename), so a console never reads half of one.</summary>
    public static void Write(Entry entry)
    {
        Directory.CreateDirectory(Folder);
        var path = FileOf(entry.ClusterId);
        var temp = $"{path}.{Environment.ProcessId}.tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(entry, JsonOutput.Options));
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Removes the file if it is still this process's (a newer cluster of the same name keeps its own).</summary>
    public static void Remove(string clusterId)
    {
        if (Read(clusterId) is { } e && e.Pid == Environment.ProcessId) File.Delete(FileOf(clusterId));
    }

    /// <summary>The live cluster of that name, or null (no file, unreadable, or its process is gone).</summary>
    public static Entry? Live(string clusterId) => Read(clusterId) is { } e && IsRunning(e.Pid) ? e : null;

    /// <summary>Every live cluster of this user, by name.</summary>
    public static IReadOnlyList<Entry> AllLive() =>
        !Directory.Exists(Folder) ? []
        : [.. Directory.EnumerateFiles(Folder, "*.json").Select(f => Read(Path.GetFileNameWithoutExtension(f)))
            .OfType<Entry>().Where(e => IsRunning(e.Pid)).OrderBy(e => e.ClusterId, StringComparer.Ordinal)];

    static Entry? Read(string clusterId)
    {
        try { return JsonSerializer.Deserialize<Entry>(File.ReadAllText(FileOf(clusterId)), JsonOutput.Options); }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { return null; }
    }

    static bool IsRunning(int pid)
    {
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }
}
