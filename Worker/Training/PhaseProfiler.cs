using System.Diagnostics;
using Orchestrator.Sharding.Interop;

namespace Orchestrator.Worker.Training;

/// <summary>One phase of the training step: GPU time (between CUDA events on the compute stream, so idle gaps
/// while the host is late count where they happen) and host time (queueing the work), both per step.</summary>
public sealed record PhaseTime(string Phase, double GpuMs, double HostMs);

/// <summary>
/// Where a training step's time goes, without a profiler (the GPU machines have no nsys): the trainer marks the end
/// of each phase; on CUDA each mark records an event on the compute stream and the host clock. Nothing syncs until
/// <see cref="Summarize"/>. On the CPU only host times are kept.
/// </summary>
public sealed class PhaseProfiler : IDisposable
{
    readonly bool _cuda;
    readonly List<(string Phase, CudaTimingEvent? Event, long Ticks)> _marks = [];
    readonly List<int> _stepStarts = [];

    public PhaseProfiler(bool cuda) => _cuda = cuda;

    /// <summary>The start of a step: what follows the previous step's last mark up to here is "between steps".</summary>
    public void BeginStep()
    {
        _stepStarts.Add(_marks.Count);
        Mark(_marks.Count == 0 ? "" : "between steps");
    }

    /// <summary>The end of <paramref name="phase"/>, which began at the previous mark.</summary>
    public void Mark(string phase)
    {
        CudaTimingEvent? e = null;
        if (_cuda)
        {
            e = new CudaTimingEvent();
            e.Record();
        }
        _marks.Add((phase, e, Stopwatch.GetTimestamp()));
    }

    /// <summary>Mean per-step time of each phase, in first-seen order (syncs with the GPU once).</summary>
    public IReadOnlyList<PhaseTime> Summarize()
    {
        if (_marks.Count == 0) return [];
        _marks[^1].Event?.Synchronize();
        var order = new List<string>();
        var gpu = new Dictionary<string, double>();
        var host = new Dictionary<string, double>();
        for (var i = 1; i < _marks.Count; i++)
        {
            var (phase, e, ticks) = _marks[i];
            if (!gpu.ContainsKey(phase)) { order.Add(phase); gpu[phase] = 0; host[phase] = 0; }
            if (e is not null) gpu[phase] += e.MillisecondsSince(_marks[i - 1].Event!);
            host[phase] += Stopwatch.GetElapsedTime(_marks[i - 1].Ticks, ticks).TotalMilliseconds;
        }
        int steps = Math.Max(1, _stepStarts.Count);
        return order.Select(p => new PhaseTime(p, _cuda ? gpu[p] / steps : 0, host[p] / steps)).ToList();
    }

    public void Dispose()
    {
        foreach (var m in _marks) m.Event?.Dispose();
        _marks.Clear();
    }
}
