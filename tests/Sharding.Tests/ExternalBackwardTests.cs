using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Engine;
using Orchestrator.Sharding.RankHost;
using Orchestrator.Tests.Sharding.Support;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Sharding;

/// <summary>
/// The path `orch train --nproc P` takes: the caller runs forward and backward on the whole model, then
/// <see cref="StepEngine.ReduceAndStep"/> reduces, clips and updates. At world 2 (threads, real TCP ring) it
/// must follow the single-process <see cref="StepEngine.Step"/> for DDP, ZeRO-1 and ZeRO-2.
/// </summary>
public sealed class ExternalBackwardTests
{
    const int Steps = 6, Global = 8, Seed = 3;

    static float[] Reference() => RingWorld.Run(1, comm =>
    {
        var model = TinyGpt.Build(Seed);
        using var t = new StepEngine(model, comm, new EngineOptions(0));
        return Enumerable.Range(0, Steps).Select(s =>
        {
            using var scope = NewDisposeScope();
            var (x, y) = TinyGpt.GlobalBatch(Seed, s, Global);
            return t.Step([(x, y)], 0.02);
        }).ToArray();
    })[0];

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void ReduceAndStep_at_world_2_follows_single_process_training(int zero)
    {
        var expected = Reference();
        var losses = RingWorld.Run(2, comm =>
        {
            var model = TinyGpt.Build(Seed);
            using var t = new StepEngine(model, comm, new EngineOptions(zero, BucketBytes: 2048));
            var result = new float[Steps];
            for (var s = 0; s < Steps; s++)
            {
                using var scope = NewDisposeScope();
                var (x, y) = TinyGpt.GlobalBatch(Seed, s, Global);
                var half = Global / 2;
                var loss = model.Loss(model.Forward(x.narrow(0, comm.Rank * half, half)), y.narrow(0, comm.Rank * half, half));
                loss.backward();
                var mean = loss.detach().reshape(1);
                comm.AllReduce(mean, ReduceOp.Avg);
                result[s] = mean.item<float>();
                t.ReduceAndStep(0.02);
                t.ZeroGrad();
            }
            return result;
        });
        for (var s = 0; s < Steps; s++)
        {
            Assert.Equal(losses[0][s], losses[1][s]);
            Assert.True(Math.Abs(expected[s] - losses[0][s]) <= 2e-5f, $"zero {zero}, step {s + 1}: expected {expected[s]}, got {losses[0][s]}");
        }
    }

    [Fact]
    public void ReduceAndStep_refuses_zero_3_which_must_run_the_passes_itself()
    {
        var msg = RingWorld.Run(1, comm =>
        {
            using var t = new StepEngine(TinyGpt.Build(Seed), comm, new EngineOptions(3));
            return Assert.Throws<InvalidOperationException>(() => t.ReduceAndStep(0.01)).Message;
        })[0];
        Assert.Contains("ZeRO-3", msg);
    }
}
