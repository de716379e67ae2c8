namespace Orchestrator.Coordinator.Hosting;

/// <summary>
/// Holds a coordinator's grain-state folder for the life of the process: an exclusive lock on FOLDER/coordinator.lock
/// (flock, released by the kernel when the process dies, even by SIGKILL), so two coordinators never write the same
/// runs. Risk: a second coordinator pointed at a held folder must fail before it starts, with one line saying who
/// holds it, not interleave its writes with the first.
/// </summary>
public sealed class StateFolderLock : IDisposable
{
    readonly FileStream file;

    StateFolderLock(FileStream file) => this.file = file;

    public static StateFolderLock Take(string folder)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "coordinator.lock");
        try
        {
            var f = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            File.WriteAllText(Path.Combine(folder, "coordinator.pid"), $"{Environment.ProcessId}\n"); // the lock itself cannot be read while held
            return new StateFolderLock(f);
        }
        catch (IOException)
        {
            string holder = "another process";
            try { if (int.TryParse(File.ReadAllText(Path.Combine(folder, "coordinator.pid")).Trim(), out var pid)) holder = $"pid {pid}"; }
            catch (IOException) { }
            throw new InvalidOperationException(
                $"the state folder '{folder}' is in use by another coordinator ({holder}): stop it, or give this one another --cluster, --state-dir or --ephemeral");
        }
    }

    public void Dispose() => file.Dispose();
}
