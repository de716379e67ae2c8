using Orchestrator.Contracts.Workers;

namespace Orchestrator.Dashboard.Documents;

/// <summary>A registered worker as `orch workers list --json` prints it and /api/workers serves it.</summary>
public sealed record WorkerJson(string Id, string State, string Device, string DeviceKind, long MemoryBytes, string Host,
    int ProcessId, string? RunId, DateTimeOffset RegisteredAt, string? Reason, int ProtocolVersion, string? DeviceName)
{
    public static WorkerJson From(WorkerInfo w) => new(w.Id, w.State.ToString(), w.Device, w.DeviceKind, w.MemoryBytes,
        w.Host, w.ProcessId, w.RunId, w.RegisteredAt, w.Reason, w.ProtocolVersion, w.DeviceName);
}
