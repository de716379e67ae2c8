using System.Runtime.InteropServices;

namespace Orchestrator.Sharding.Interop;

/// <summary>
/// Sending a signal to a process: .NET can kill (SIGKILL) but not ask a process to stop, which SIGTERM does (a
/// child's host then shuts down gracefully: a silo leaves its cluster instead of being found dead).
/// </summary>
public static partial class PosixSignals
{
    const int SIGTERM = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int kill(int pid, int signal);

    /// <summary>Sends SIGTERM; false when the process is gone already (or cannot be signalled).</summary>
    public static bool Terminate(int pid) => kill(pid, SIGTERM) == 0;
}
