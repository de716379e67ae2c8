using Orchestrator.Contracts.Workers;

namespace Orchestrator.Dashboard.Documents;

/// <summary>
/// A registered worker slot as `orch workers list --json` prints it and /api/workers serves it: Process is the worker
/// process it lives in, Slot of Slots its share of that process's device (DeviceKey names the device), LostAt when
/// it was marked lost.
/// </summary>
public sealed record WorkerJson(string Id, string State, string Device, string DeviceKind, long MemoryBytes, string Host,
    int ProcessId, string? RunId, DateTimeOffset RegisteredAt, string? Reason, int ProtocolVersion, string? DeviceName,
    string Process, int Slot, int Slots, string DeviceKey, DateTimeOffset? LostAt)
{
    public static WorkerJson From(WorkerInfo w) => new(w.Id, w.State.ToString(), w.Device, w.DeviceKind, w.MemoryBytes,
        w.Host, w.ProcessId, w.RunId, w.RegisteredAt, w.Reason, w.ProtocolVersion, w.DeviceName, w.ProcessName, w.Slot, w.Slots, w.DeviceGroup, w.LostAt);
}
