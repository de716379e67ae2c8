using System.Collections.Immutable;
using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;

namespace Orchestrator.Coordinator.Scheduling;

/// <summary>
/// Which idle slots a run's ranks may take without oversubscribing a device. A device (the slots of one
/// <see cref="WorkerInfo.DeviceGroup"/>) has a memory budget of <see cref="UsableFraction"/> of the memory its
/// workers advertise (the rest is for CUDA contexts and the allocator's cache; 0 advertised: not counted) and a
/// share of 1.0; every busy slot holds its run's estimate and share. The invariant: the slots returned fit all
/// together, on top of what is already placed, so any subset of them a run takes fits too. Least-loaded devices
/// come first, so a sweep spreads over the devices before it stacks on one.
/// </summary>
public static class DevicePacking
{
    public const double UsableFraction = 0.9;
    const double ShareSlack = 1e-9;

    sealed class DeviceTally
    {
        public long Budget;
        public long Bytes;
        public double Share;
        public readonly HashSet<string> Runs = [];
        public double Load => Math.Max(Share, Budget > 0 ? Bytes / (double)Budget : 0);
    }

    sealed class ProcessTally
    {
        public int Busy;
        public bool Exclusive;
    }

    /// <summary>Idle slots of the run's device kind that can take one rank each, all together, in the order to take them.</summary>
    public static ImmutableArray<WorkerInfo> Fitting(RunDemand run, IEnumerable<WorkerInfo> workers, IReadOnlyDictionary<string, RunDemand> placed)
    {
        var live = workers.Where(w => w.State != WorkerState.Lost).ToList();
        var devices = Tally(live, placed);
        var processes = new Dictionary<string, ProcessTally>();
        foreach (var w in live.Where(w => w.State == WorkerState.Busy))
        {
            var p = Get(processes, w.ProcessName);
            p.Busy++;
            if (w.RunId is { } r && placed.TryGetValue(r, out var d) && d.ProcessExclusive) p.Exclusive = true;
        }
        var taken = ImmutableArray.CreateBuilder<WorkerInfo>();
        var candidates = live
            .Where(w => w.State == WorkerState.Idle && w.DeviceKind == run.DeviceKind)
            .OrderBy(w => devices[w.DeviceGroup].Load).ThenBy(w => w.Id, StringComparer.Ordinal);
        foreach (var w in candidates)
        {
            var dev = devices[w.DeviceGroup];
            var proc = Get(processes, w.ProcessName);
            if (run.OneRankPerDevice && dev.Runs.Contains(run.RunId)) continue;
            if (dev.Budget > 0 && dev.Bytes + run.Bytes > dev.Budget) continue;
            if (dev.Share + run.Share > 1 + ShareSlack) continue;
            if (proc.Exclusive || (run.ProcessExclusive && proc.Busy > 0)) continue;
            dev.Bytes += run.Bytes;
            dev.Share += run.Share;
            dev.Runs.Add(run.RunId);
            proc.Busy++;
            proc.Exclusive |= run.ProcessExclusive;
            taken.Add(w);
        }
        return taken.ToImmutable();
    }

    /// <summary>
    /// Null when the run fits an empty device of its kind among the live workers (or none is registered yet: nothing
    /// to judge by); otherwise why it can never be placed, naming the run and the numbers.
    /// </summary>
    public static string? NeverFits(string runName, RunDemand run, IEnumerable<WorkerInfo> workers)
    {
        var devices = workers.Where(w => w.State != WorkerState.Lost && w.DeviceKind == run.DeviceKind)
            .GroupBy(w => w.DeviceGroup)
            .Select(g => (Group: g.Key, Memory: g.Max(w => w.MemoryBytes)))
            .ToList();
        if (devices.Count == 0 || run.Bytes == 0) return null;
        if (devices.Any(d => d.Memory <= 0 || run.Bytes <= Budget(d.Memory))) return null;
        var largest = devices.MaxBy(d => d.Memory);
        return $"run '{runName}': estimated memory per rank {run.Estimate} exceeds every {run.DeviceKind} device: " +
               $"the largest, {largest.Group}, has {MemoryEstimate.Gib(largest.Memory)} of which {MemoryEstimate.Gib(Budget(largest.Memory))} is usable " +
               $"({UsableFraction:P0}); use a smaller batch or model, or more memory";
    }

    static long Budget(long memory) => (long)(memory * UsableFraction);

    static Dictionary<string, DeviceTally> Tally(List<WorkerInfo> live, IReadOnlyDictionary<string, RunDemand> placed)
    {
        var devices = new Dictionary<string, DeviceTally>();
        foreach (var w in live)
        {
            var dev = Get(devices, w.DeviceGroup);
            dev.Budget = Math.Max(dev.Budget, Budget(w.MemoryBytes));
            if (w.State != WorkerState.Busy || w.RunId is not { } r || !placed.TryGetValue(r, out var d)) continue;
            dev.Bytes += d.Bytes;
            dev.Share += d.Share;
            dev.Runs.Add(r);
        }
        return devices;
    }

    static T Get<T>(Dictionary<string, T> map, string key) where T : new()
    {
        if (!map.TryGetValue(key, out var v)) map[key] = v = new T();
        return v;
    }
}
