namespace Orchestrator.Contracts.Workers;

/// <summary>
/// One slot of a worker process as registered with the scheduler: the unit a run's rank is placed on. A process with
/// one slot registers under its silo name; one with K slots registers K entries "NAME/0".."NAME/K-1" (the process is
/// <see cref="ProcessName"/>). Slots on one device share its memory: several processes may share a device too
/// (MPS), and then they register the same <see cref="DeviceKey"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("orch.WorkerInfo")]
public sealed record WorkerInfo
{
    [Id(0)] public string Id { get; init; } = "";
    [Id(1)] public string Host { get; init; } = "";
    /// <summary>cpu or cuda:N.</summary>
    [Id(2)] public string Device { get; init; } = "cpu";
    /// <summary>cpu or cuda.</summary>
    [Id(3)] public string DeviceKind { get; init; } = "cpu";
    /// <summary>Device memory (GPU) or usable RAM (CPU), bytes.</summary>
    [Id(4)] public long MemoryBytes { get; init; }
    [Id(5)] public int ProtocolVersion { get; init; }
    [Id(6)] public int ProcessId { get; init; }
    [Id(7)] public WorkerState State { get; init; }
    [Id(8)] public string? RunId { get; init; }
    [Id(9)] public DateTimeOffset RegisteredAt { get; init; }
    /// <summary>Why the worker is Lost (or null).</summary>
    [Id(10)] public string? Reason { get; init; }
    [Id(11)] public string? DeviceName { get; init; }
    /// <summary>The Orleans silo address of the worker process (failure detection reports deaths by silo).</summary>
    [Id(12)] public string SiloAddress { get; init; } = "";
    /// <summary>The worker process's silo name ("" for a one-slot process: then it is the id).</summary>
    [Id(13)] public string Process { get; init; } = "";
    /// <summary>This slot's index in its process (0..Slots-1).</summary>
    [Id(14)] public int Slot { get; init; }
    /// <summary>Slots of the process (runs it trains at once).</summary>
    [Id(15)] public int Slots { get; init; } = 1;
    /// <summary>Names the physical device the slot computes on ("" : the process's own device).</summary>
    [Id(16)] public string DeviceKey { get; init; } = "";
    /// <summary>When the coordinator marked it Lost (null while it is not lost).</summary>
    [Id(17)] public DateTimeOffset? LostAt { get; init; }

    /// <summary>The process (silo) this slot lives in.</summary>
    public string ProcessName => Process.Length > 0 ? Process : Id;

    /// <summary>Slots with the same device group share one device's memory and share budget.</summary>
    public string DeviceGroup => DeviceKey.Length > 0 ? DeviceKey : ProcessName;

    /// <summary>The id of slot <paramref name="slot"/> of a process with <paramref name="slots"/> slots.</summary>
    public static string SlotId(string process, int slot, int slots) => slots == 1 ? process : $"{process}/{slot}";

    /// <summary>The process part of a slot id (the silo that hosts its grain).</summary>
    public static string ProcessOf(string slotId) => slotId.IndexOf('/') is var i and >= 0 ? slotId[..i] : slotId;
}

[GenerateSerializer]
public enum WorkerState
{
    Idle = 0,
    /// <summary>Taken by a run (training, or waiting for its next rendezvous).</summary>
    Busy = 1,
    /// <summary>Its process is gone.</summary>
    Lost = 2,
}
