using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Orchestrator.Contracts.Experiments;

namespace Orchestrator.Experiments.Sweeps;

/// <summary>Launching and watching sweeps from any grain client (the CLI, quickstart, tests).</summary>
public static class SweepClient
{
    /// <summary>Plans the sweep and launches it under a fresh id (name + 6 hex digits).</summary>
    public static Task<SweepStatus> LaunchSweepAsync(this IGrainFactory grains, SweepSpec spec, string? id = null)
    {
        var plan = Search.SearchProgress.Plan(spec);
        id ??= $"{spec.Name}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
        return grains.GetGrain<IExperimentGrain>(id).LaunchAsync(spec, plan);
    }

    public static Task<SweepStatus> GetSweepStatusAsync(this IGrainFactory grains, string id) =>
        grains.GetGrain<IExperimentGrain>(id).GetStatusAsync();

    /// <summary>Yields the status every <paramref name="poll"/> until the sweep is final (the final status too).</summary>
    public static async IAsyncEnumerable<SweepStatus> WatchSweepAsync(this IGrainFactory grains, string id, TimeSpan? poll = null,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        var grain = grains.GetGrain<IExperimentGrain>(id);
        while (true)
        {
            var status = await grain.GetStatusAsync();
            yield return status;
            if (status.IsFinal) yield break;
            await Task.Delay(poll ?? TimeSpan.FromSeconds(1), ct);
        }
    }
}
