using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Parallel;

// Where the optimizer state sits, for sharded checkpoints: pieces in global (unpadded) coordinates paired with
// their offset in this rank's optimizer region.
public sealed partial class ShardedTrainer
{
    /// <summary>What this rank writes: its 1/W partition of every stage (DDP ranks hold everything but write only that).</summary>
    public IReadOnlyList<(long GlobalStart, long Length, long RegionOffset)> SavePieces() =>
        Layout.Groups.Where(g => g.RealLength(Rank) > 0)
            .Select(g => (g.Offset + Rank * g.ShardLength, g.RealLength(Rank),
                Zero == 0 ? g.FullOffset + Rank * g.ShardLength : g.ShardOffset))
            .ToList();

    /// <summary>What this rank must read back: everything for DDP, its shard for ZeRO.</summary>
    public IReadOnlyList<(long GlobalStart, long Length, long RegionOffset)> LoadPieces() =>
        Zero == 0
            ? Layout.Groups.Where(g => g.Length > 0).Select(g => (g.Offset, g.Length, g.FullOffset)).ToList()
            : SavePieces();
}

// Whole-model views of the optimizer state, for checkpoint formats that store full tensors by name.
public sealed partial class ShardedTrainer
{
    /// <summary>
    /// Collective for ZeRO (every rank must call it): a region tensor (master, exp_avg or exp_avg_sq) gathered
    /// into the full padded fp32 vector, in host memory (one stage at a time through the device, so a model
    /// sharded because it is large never has a full vector there). For DDP a host copy of the region.
    /// </summary>
    public Tensor GatherFull(Tensor region)
    {
        var full = zeros(Layout.PaddedTotal, dtype: ScalarType.Float32);
        using var scope = NewDisposeScope();
        if (Zero == 0)
        {
            full.copy_(region);
            return full;
        }
        foreach (var g in Layout.Groups)
        {
            using var gathered = empty(g.Padded, dtype: ScalarType.Float32, device: _device);
            CommunicatorExtensions.Wait(_comm.AllGatherAsync(region.narrow(0, g.ShardOffset, g.ShardLength), gathered));
            full.narrow(0, g.FullOffset, g.Padded).copy_(gathered);
        }
        return full;
    }

    /// <summary>Each parameter's view of a full vector, by name.</summary>
    public IReadOnlyList<(string Name, Tensor Tensor)> Views(Tensor full) =>
        Layout.Params.Select(p => (p.Name, full.ViewOf(Layout.FullOffset(p), p.Numel, p.Shape))).ToList();

    /// <summary>
    /// Restores the optimizer from full vectors (any world size wrote them: each rank keeps its part). They may be
    /// in host memory (<see cref="NewFull"/>) or on the device.
    /// </summary>
    public void LoadFull(Tensor master, Tensor? expAvg, Tensor? expAvgSq, long stepCount)
    {
        using (NewDisposeScope()) // ToRegion's slices and concatenations, held until copied (ShardedAdamW's constructor has no scope)
        using (no_grad())
        {
            _adam.Master.copy_(ToRegion(master));
            if (expAvg is not null) _adam.ExpAvg.copy_(ToRegion(expAvg));
            if (expAvgSq is not null) _adam.ExpAvgSq.copy_(ToRegion(expAvgSq));
        }
        _adam.StepCount = stepCount;
        PublishParameters();
    }

    /// <summary>An empty full vector in host memory to fill by name (padding stays zero).</summary>
    public Tensor NewFull() => zeros(Layout.PaddedTotal, dtype: ScalarType.Float32);

    public long FullOffsetOf(string name) => Layout.FullOffset(Layout.Params.First(p => p.Name == name));
}
