namespace Orchestrator.Sharding.Interop;

/// <summary>An NCCL call failed; the message names the call, the error (ncclGetErrorString) and NCCL's last error text.</summary>
public sealed class NcclException(string call, int result, string message) : Exception(message)
{
    public string Call { get; } = call;
    public int Result { get; } = result;
}
