namespace Orchestrator.Contracts.Workers;

/// <summary>A worker process (one device) as registered with the scheduler. Id is also its silo name.</summary>
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
