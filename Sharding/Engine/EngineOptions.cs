using Orchestrator.Sharding.Optim;

namespace Orchestrator.Sharding.Engine;

/// <summary>
/// How a <see cref="StepEngine"/> splits the training state. Zero: 0 = nothing sharded (world 1, or DDP: gradients
/// all-reduced in buckets), 1 = fp32 master weights and Adam moments partitioned, 2 = + gradients reduce-scattered
/// into each rank's shard, 3 = + compute parameters partitioned and gathered per stage. RecomputeZero3: ZeRO-3
/// recomputes each stage's forward in backward instead of freeing the gathered storage in place (what it falls back
/// to where libtorch's storage cannot be resized; also ORCH_ZERO3=recompute). FusedAdamW: libtorch's fused kernel
/// when it works here (tests compare it with the element-wise update).
/// </summary>
public sealed record EngineOptions(int Zero = 0, long BucketBytes = 25L << 20, AdamWSettings? AdamW = null, bool RecomputeZero3 = false, bool FusedAdamW = true)
{
    public AdamWSettings Optimizer => AdamW ?? new AdamWSettings();

    public void Validate()
    {
        if (Zero is < 0 or > 3) throw new ArgumentException($"--zero {Zero}: the ZeRO stage must be 0 (DDP), 1, 2 or 3");
        if (BucketBytes < 1024) throw new ArgumentException($"bucket size {BucketBytes} bytes is too small; DDP's default is 25 MB");
    }
}
