namespace Orchestrator.Sharding.Interop;

/// <summary>An NCCL call failed; the message names the call, the error (ncclGetErrorString) and NCCL's last error text.</summary>
public sealed class NcclException(string call, int result, string message) : Exception(message)
{
    public string Call { get; } = call;
    public int Result { get; } = result;

    internal static void Check(int rc, string call, nint comm = 0)
    {
        if (rc == NcclNative.Success) return;
        var last = comm != 0 ? System.Runtime.InteropServices.Marshal.PtrToStringUTF8(NcclNative.ncclGetLastError(comm)) : null;
        throw new NcclException(call, rc, $"{call} failed: {NcclNative.ErrorString(rc)} (ncclResult {rc})" +
                                          (string.IsNullOrWhiteSpace(last) ? "" : ": " + last));
    }
}
