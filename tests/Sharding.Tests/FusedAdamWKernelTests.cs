using Orchestrator.Sharding.Interop;
using Orchestrator.Sharding.Optim;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Sharding;

/// <summary>
/// The fused kernel's TorchScript call under garbage-collection pressure. TorchSharp's invoke turned each double
/// argument into a temporary Scalar that the GC could free before libtorch read it; with a thread collecting
/// continuously the unfixed call failed about 1 in 800 times ("Expected false to be true" from Scalar::toLong).
/// Runs alone: its collecting thread would reach every test running beside it in this process, whose own unheld
/// temporaries (test code makes many) it could free mid-call.
/// </summary>
[Collection(nameof(GcPressureCollection))]
public sealed class FusedAdamWKernelTests
{
    [Fact]
    public void Survives_garbage_collections_during_the_call()
    {
        TorchRuntime.Initialize();
        using var kernel = FusedAdamWKernel.TryCreate(CPU, out var why);
        Assert.True(kernel is not null, why);
        using var p = ones(64);
        using var g = full(64, 0.5f);
        using var m = zeros(64);
        using var v = zeros(64);
        using var step = ones(1);
        using var scale = ones(1);
        using var lr = full(1, 1e-3f);
        var stop = false;
        var collector = new Thread(() => { while (!Volatile.Read(ref stop)) { GC.Collect(); GC.WaitForPendingFinalizers(); } });
        collector.Start();
        var failures = new List<string>();
        try
        {
            for (var i = 0; i < 8000; i++)
            {
                try { kernel!.Step([p], [g], [m], [v], step, scale, lr, 0.9, 0.95, 0.1, 1e-8); }
                catch (Exception e) { failures.Add(e.Message.Split('\n')[0]); }
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            collector.Join();
        }
        Assert.Empty(failures);
        Assert.True(p.isfinite().all().item<bool>());
    }
}

[CollectionDefinition(nameof(GcPressureCollection), DisableParallelization = true)]
public sealed class GcPressureCollection;
