using System.Diagnostics;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Worker.Hosting;

/// <summary>
/// Splits one epoch's wall time on a training thread into <see cref="RunPhases"/>. Only the training thread uses it.
/// Step time is what the trainer measured per step; the rest of a training stretch is evaluation and checkpoints.
/// The first step's excess over the median later step is its warm-up.
/// </summary>
public sealed class PhaseClock
{
    readonly Stopwatch total = Stopwatch.StartNew();
    readonly Stopwatch lap = Stopwatch.StartNew();
    readonly List<double> steps = [];
    double startup, rendezvous, build, evalAndCheckpoint, reports;

    /// <summary>Ends the start-up phase (job created, bootstrap prepared).</summary>
    public void StartupDone() => startup += Lap();
    public void RendezvousDone() => rendezvous += Lap();
    public void BuildDone() => build += Lap();

    /// <summary>A training stretch ended: its step times, the rest of its wall time is evaluation and checkpoints.</summary>
    public void Stretch(IEnumerable<MetricPoint> metrics)
    {
        double wall = Lap(), stepSum = 0;
        foreach (var m in metrics)
        {
            steps.Add(m.StepSeconds);
            stepSum += m.StepSeconds;
        }
        evalAndCheckpoint += Math.Max(0, wall - stepSum);
    }

    public void ReportDone() => reports += Lap();

    public RunPhases Phases()
    {
        double steady = steps.Count > 1 ? Median(steps.Skip(1)) : steps.Count == 1 ? steps[0] : 0;
        double first = steps.Count > 0 ? Math.Max(0, steps[0] - steady) : 0;
        return new RunPhases
        {
            Startup = startup, Rendezvous = rendezvous, Build = build, FirstStep = first, Steps = steps.Sum() - first,
            EvalAndCheckpoint = evalAndCheckpoint, Reports = reports, Total = total.Elapsed.TotalSeconds, StepCount = steps.Count,
        };
    }

    double Lap()
    {
        double s = lap.Elapsed.TotalSeconds;
        lap.Restart();
        return s;
    }

    static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}
