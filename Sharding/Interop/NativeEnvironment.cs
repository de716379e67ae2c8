using System.Runtime.InteropServices;

namespace Orchestrator.Sharding.Interop;

/// <summary>
/// Sets an environment variable where native libraries see it. On Unix, .NET's Environment.SetEnvironmentVariable
/// changes only the runtime's own copy, and libcuda reads variables such as CUDA_MPS_PIPE_DIRECTORY with getenv
/// when it initialises: this also calls libc's setenv. Call it before the first CUDA use, while no other thread
/// reads the environment (setenv is not thread-safe against getenv).
/// </summary>
public static partial class NativeEnvironment
{
    [LibraryImport("libc.so.6", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int SetEnv(string name, string value, int overwrite);

    public static void Set(string name, string value)
    {
        Environment.SetEnvironmentVariable(name, value);
        if (SetEnv(name, value, 1) != 0)
            throw new InvalidOperationException($"setenv({name}) failed: errno {Marshal.GetLastPInvokeError()}");
    }
}
