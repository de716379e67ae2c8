using Orchestrator.Contracts.Runs;

namespace Orchestrator.Coordinator.Scheduling;

/// <summary>
/// What one rank of a run needs from the slot it is placed on, fixed at submission: device kind, estimated memory
/// (0: nothing to count, e.g. the light trainer), the claimed device share (0: none), whether it must be the only
/// run in its worker process, and whether two of its ranks may share a device.
/// </summary>
[GenerateSerializer, Immutable, Alias("orch.RunDemand")]
public sealed record RunDemand
{
    [Id(0)] public string RunId { get; init; } = "";
    [Id(1)] public string DeviceKind { get; init; } = "cpu";
    [Id(2)] public long Bytes { get; init; }
    [Id(3)] public double Share { get; init; }
    /// <summary>
    /// Dropout draws from libtorch's one process-wide generator (which the checkpoint also saves): two such runs
    /// in one process would change each other's draws, so such a run has its process to itself.
    /// </summary>
    [Id(4)] public bool ProcessExclusive { get; init; }
    /// <summary>NCCL refuses two ranks of one communicator on the same GPU.</summary>
    [Id(5)] public bool OneRankPerDevice { get; init; }
    [Id(6)] public string Estimate { get; init; } = "";

    public static RunDemand Of(string runId, RunSpec spec, int vocab)
    {
        var estimate = RunMemory.Estimate(spec, vocab);
        return new RunDemand
        {
            RunId = runId, DeviceKind = spec.Device, Bytes = estimate?.TotalBytes ?? 0, Share = spec.DeviceShare ?? 0,
            ProcessExclusive = spec.Trainer == "gpt" && spec.Model.Dropout > 0,
            OneRankPerDevice = spec.Device == "cuda",
            Estimate = estimate?.ToString() ?? "",
        };
    }
}
