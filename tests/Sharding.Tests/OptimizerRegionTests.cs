using Orchestrator.Sharding.Engine;
using Orchestrator.Sharding.Model;

namespace Orchestrator.Tests.Sharding;

/// <summary>
/// The optimizer's parameter groups (decay, learning-rate multiplier) read off the flat layout: every element of
/// every rank's region, replicated or a ZeRO shard, gets its parameter's group, and padding the plain one.
/// </summary>
public sealed class OptimizerRegionTests
{
    [Theory]
    [InlineData(1, true)]
    [InlineData(2, true)]
    [InlineData(2, false)]
    [InlineData(3, false)]
    public void Every_element_of_every_region_gets_its_parameters_group(int world, bool replicated)
    {
        // Three stages of odd sizes so ZeRO shards cut through parameters and groups pad.
        (string Name, long[] Shape, int Group)[] parameters =
        [
            ("wte.weight", [5, 3], 0), ("wpe.weight", [2, 3], 0),
            ("h.0.attn.c_attn.weight", [3, 3], 1), ("h.0.attn.c_attn.bias", [3], 1), ("h.0.ln_1.weight", [3], 1), ("h.0.mlp.c_fc.weight", [4, 3], 1),
            ("ln_f.weight", [3], 2), ("ln_f.bias", [3], 2),
        ];
        double Scale(string name) => name.StartsWith("h.", StringComparison.Ordinal) && name.EndsWith(".weight", StringComparison.Ordinal) && !name.Contains(".ln_") ? 0.25 : 1.0;
        var layout = new FlatLayout(parameters, groups: 3, world);
        var covered = new HashSet<long>();
        for (var rank = 0; rank < (replicated ? 1 : world); rank++)
        {
            var region = new OptimizerRegion(layout, rank, replicated);
            var attrs = new (bool Decay, double Scale)[region.Length];
            Array.Fill(attrs, (false, 1.0));
            foreach (var r in region.UpdateRuns(Scale))
                for (var i = r.Offset; i < r.Offset + r.Length; i++) attrs[i] = (r.Decay, r.LrScale);
            foreach (var (_, fullStart, length, regionStart) in region.Spans())
            {
                for (long k = 0; k < length; k++)
                {
                    long full = fullStart + k;
                    covered.Add(full);
                    var owner = layout.Params.FirstOrDefault(p => layout.FullOffset(p) <= full && full < layout.FullOffset(p) + p.Numel);
                    var expected = owner is null ? (false, 1.0) : (owner.Shape.Length >= 2, Scale(owner.Name));
                    Assert.True(expected == attrs[regionStart + k], $"rank {rank}: full index {full} ({owner?.Name ?? "padding"}) got {attrs[regionStart + k]}, expected {expected}");
                }
            }
        }
        Assert.Equal(layout.PaddedTotal, covered.Count); // the regions together cover the whole layout
    }
}
