namespace Orchestrator.Experiments.Reports;

/// <summary>
/// What a branching sweep cost against the same grid trained from scratch. FLOPs are 6·N·D (Kaplan's C, embeddings
/// left out as in the fit): from scratch every point trains D_i tokens; with branches each trunk trains to its last
/// fork and each branch only its cooldown, D_i minus its fork's tokens. Device-seconds (wall time x workers of each
/// run's last attempt) are measured for the branching sweep; from scratch they are estimated as each branch's own
/// seconds plus its trunk's seconds pro rata up to its fork, since those points were never trained from scratch.
/// Null when the sweep has no trunk.
/// </summary>
public sealed record BranchCost(double Flops, double FlopsFromScratch, double? DeviceSeconds, double? DeviceSecondsFromScratch, int Trunks, int Branches)
{
    public double FlopSaving => 1 - Flops / FlopsFromScratch;

    public static BranchCost? Of(SweepResults results)
    {
        var trunks = results.Runs.Where(r => r.IsTrunk).ToDictionary(r => r.Key);
        var branches = results.Runs.Where(r => r.Role == "Branch" && r.Parent is not null && trunks.ContainsKey(r.Parent)).ToList();
        if (trunks.Count == 0 || branches.Count == 0) return null;
        double flops = trunks.Values.Sum(t => 6.0 * t.N * t.D) + branches.Sum(b => 6.0 * b.N * (b.D - (b.ForkTokens ?? 0)));
        double scratch = branches.Sum(b => 6.0 * b.N * b.D);
        double? seconds = null, scratchSeconds = null;
        if (trunks.Values.All(t => t.DeviceSeconds is not null) && branches.All(b => b.DeviceSeconds is not null))
        {
            seconds = trunks.Values.Sum(t => t.DeviceSeconds!.Value) + branches.Sum(b => b.DeviceSeconds!.Value);
            scratchSeconds = branches.Sum(b =>
            {
                var t = trunks[b.Parent!];
                return b.DeviceSeconds!.Value + t.DeviceSeconds!.Value * Math.Min(1.0, (b.ForkTokens ?? 0) / (double)t.D);
            });
        }
        return new BranchCost(flops, scratch, seconds, scratchSeconds, trunks.Count, branches.Count);
    }
}
