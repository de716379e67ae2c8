using System.Diagnostics;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Worker.Hosting;

/// <summary>
/// Splits one generation's wall time on a training thread into <see cref="RunPhases"/>. Only the training thread uses it.
/// Step time is what the trainer measured over each report's window of steps; the rest of a training stretch is
/// evaluation and checkpoints. The first step's excess over the median later step time is its warm-up (the trainer
/// reports its first step alone, so the first window is that step).
/// </summary>
public sealed class PhaseClock
{
    readonly Stopwatch total = Stopwatch.StartNew();
    readonly Stopwatch lap = Stopwatch.StartNew();
    // Per report: the mean step time over its window, and the window's steps.
    readonly List<(double Seconds, int Count)> steps = [];
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
            int count = Math.Max(1, m.WindowSteps);
            steps.Add((m.StepSeconds, count));
            stepSum += m.StepSeconds * count;
        }
        evalAndCheckpoint += Math.Max(0, wall - stepSum);
    }

    public void ReportDone() => reports += Lap();

    public RunPhases Phases()
    {
        double steady = steps.Count > 1 ? Median(steps.Skip(1).Select(s => s.Seconds)) : steps.Count == 1 ? steps[0].Seconds : 0;
        double first = steps.Count > 0 && steps[0].Count == 1 ? Math.Max(0, steps[0].Seconds - steady) : 0;
        return new RunPhases
        {
            Startup = startup, Rendezvous = rendezvous, Build = build, FirstStep = first, Steps = steps.Sum(s => s.Seconds * s.Count) - first,
            EvalAndCheckpoint = evalAndCheckpoint, Reports = reports, Total = total.Elapsed.TotalSeconds, StepCount = steps.Sum(s => s.Count),
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
