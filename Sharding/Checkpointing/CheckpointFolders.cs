using System.Globalization;

namespace Orchestrator.Sharding.Checkpointing;

/// <summary>
/// Where checkpoints live under a run folder: <c>ckpt-000100/</c> once committed, <c>.tmp-ckpt-000100-NONCE/</c>
/// while the ranks write into it (the nonce, chosen by rank 0 per checkpoint, keeps a crashed attempt's leftovers out
/// of a new one). Only committed folders are listed; a folder counts as a checkpoint once its manifest verifies.
/// </summary>
public static class CheckpointFolders
{
    public const string Prefix = "ckpt-";
    public const string TempPrefix = ".tmp-ckpt-";

    public static string Name(long step) => Prefix + step.ToString("D6", CultureInfo.InvariantCulture);

    public static string Temp(string root, long step, long nonce) =>
        Path.Combine(root, TempPrefix + step.ToString("D6", CultureInfo.InvariantCulture) + "-" + nonce.ToString("x6", CultureInfo.InvariantCulture));

    /// <summary>Checkpoint folders (valid or not) with their step, oldest first.</summary>
    public static IReadOnlyList<(long Step, string Path)> List(string root)
    {
        if (!Directory.Exists(root)) return [];
        return Directory.GetDirectories(root, Prefix + "*")
            .Select(d => (Name: Path.GetFileName(d), Path: d))
            .Where(d => d.Name.Length > Prefix.Length && d.Name[Prefix.Length..].All(char.IsAsciiDigit))
            .Select(d => (long.Parse(d.Name[Prefix.Length..], CultureInfo.InvariantCulture), d.Path))
            .OrderBy(d => d.Item1)
            .ToList();
    }

    /// <summary>The newest checkpoint that verifies; invalid newer ones are reported through <paramref name="warn"/> and skipped.</summary>
    public static string? FindNewestValid(string root, Action<string>? warn = null)
    {
        foreach (var (_, path) in List(root).Reverse())
        {
            try
            {
                ShardedCheckpoint.Verify(path);
                return path;
            }
            catch (InvalidDataException e)
            {
                warn?.Invoke($"skipping checkpoint {path}: {e.Message}");
            }
        }
        return null;
    }

    public static bool IsValid(string dir)
    {
        if (!Directory.Exists(dir)) return false;
        try { ShardedCheckpoint.Verify(dir); return true; }
        catch (InvalidDataException) { return false; }
    }
}
