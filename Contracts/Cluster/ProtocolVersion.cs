namespace Orchestrator.Contracts.Cluster;

/// <summary>
/// The worker/coordinator protocol version. Bump it whenever a grain interface or DTO changes in a way an older
/// process cannot follow; a worker of another version is refused at registration with a clear message.
/// </summary>
public static class ProtocolVersion
{
    public const int Current = 2;
}
