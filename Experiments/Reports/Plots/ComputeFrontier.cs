namespace Orchestrator.Experiments.Reports.Plots;

/// <summary>A completed run placed by its training compute: C = 6·N·D FLOPs and its final loss.</summary>
public readonly record struct ComputePoint(string Key, long N, double Flops, double Loss);

/// <summary>
/// The compute-optimal frontier of a sweep: the lower envelope of loss against compute, i.e. the runs no other run
/// beats with as much compute or less. Invariant: walking the frontier, compute rises and loss falls strictly; a run
/// with the same compute as a frontier run and a higher (or equal) loss is not on it.
/// </summary>
public static class ComputeFrontier
{
    public static IReadOnlyList<ComputePoint> Of(IEnumerable<RunResult> completed) => Of(Points(completed));

    public static IReadOnlyList<ComputePoint> Of(IReadOnlyList<ComputePoint> points)
    {
        var frontier = new List<ComputePoint>();
        double best = double.PositiveInfinity;
        foreach (var p in points.OrderBy(p => p.Flops).ThenBy(p => p.Loss))
        {
            if (!(p.Loss < best)) continue;
            best = p.Loss;
            frontier.Add(p);
        }
        return frontier;
    }

    /// <summary>Every run with a final loss, trunks left out (a WSD trunk's loss at the stable LR is no point of the law).</summary>
    public static IReadOnlyList<ComputePoint> Points(IEnumerable<RunResult> runs) =>
        [.. runs.Where(r => r.FinalLoss is > 0 && !r.IsTrunk).Select(r => new ComputePoint(r.Key, r.N, 6.0 * r.N * r.D, r.FinalLoss!.Value))];
}
