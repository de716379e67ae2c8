using Orchestrator.Worker.Model;
using Orchestrator.Sharding.Engine;
using Orchestrator.Worker.Training;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Worker;

/// <summary>
/// What of the CUDA-graph step runs without a GPU: the decision (graphs only where they apply; "on" on a CPU refused),
/// and the step's bookkeeping: the batch copied into static buffers, the learning rate and AdamW's step count held
/// in tensors the update reads. A GraphedStep that never captures must train exactly as the trainer's eager step.
/// </summary>
public sealed class GraphedStepTests
{
    static readonly GptConfig Tiny = new(NLayer: 2, NHead: 2, NEmbd: 32, BlockSize: 32, VocabSize: 32);

    static TrainOptions Options(string data) => new()
    {
        Steps = 6, BatchSize = 4, BlockSize = 32, GradAccum = 2, LearningRate = 3e-3, WarmupSteps = 2, LogEvery = 1, EvalBatches = 0, DataDir = data, Seed = 5,
    };

    [Fact]
    public void Graphs_are_decided_per_device_and_refused_where_they_cannot_apply()
    {
        var data = TestData.PatternCorpus();
        using var t = new Trainer(Tiny, Options(data), TestData.Open);
        Assert.Null(GraphedStep.TryCreate("auto", t.Engine, t.Options, t.Device, _ => { }, out var reason));
        Assert.Null(reason); // auto on a CPU: eager, nothing to warn about
        Assert.Null(GraphedStep.TryCreate("off", t.Engine, t.Options, t.Device, _ => { }, out reason));
        var e = Assert.Throws<ArgumentException>(() => GraphedStep.TryCreate("on", t.Engine, t.Options, t.Device, _ => { }, out _));
        Assert.Equal("--cuda-graphs on needs a CUDA device (--device cpu); use auto or off", e.Message);
        var bad = Assert.Throws<ArgumentException>(() => (Options(data) with { CudaGraphs = "yes" }).Validate());
        Assert.Equal("--cuda-graphs yes: must be on, off or auto", bad.Message);
    }

    [Fact]
    public void A_step_through_static_buffers_trains_exactly_as_the_eager_step()
    {
        var data = TestData.PatternCorpus();
        var o = Options(data);
        List<double> eager;
        Dictionary<string, float[]> eagerWeights;
        using (var t = new Trainer(Tiny, o, TestData.Open))
        {
            eager = [.. t.Run().Losses];
            eagerWeights = Weights(t.Engine);
        }

        // The same model, engine and batches, stepped through the graphed step's buffers (never capturing).
        using var fresh = new Trainer(Tiny, o, TestData.Open);
        var opt = fresh.Engine;
        Assert.True(opt.Optimizer.Fused, opt.Optimizer.FusedUnavailableReason);
        using var step = GraphedStep.NeverCapturing(opt, o, CPU);
        using var source = TestData.Open(new(data, "train", o.BatchSize, o.BlockSize, Seed: o.Seed));
        var schedule = o.LrSchedule;
        var losses = new List<double>();
        for (int s = 0; s < o.Steps; s++)
        {
            using var scope = NewDisposeScope();
            var batches = Enumerable.Range(0, o.GradAccum).Select(_ => Batch(source)).ToArray();
            var (loss, _) = step.Step(batches, schedule.At(s));
            losses.Add(loss.item<float>());
        }
        Assert.False(step.Captured);
        Assert.Equal(o.Steps, opt.Optimizer.StepCount);
        Assert.Equal(eager, losses);
        foreach (var (name, w) in Weights(opt)) Assert.Equal(eagerWeights[name], w);
    }

    [Fact]
    public void The_update_reads_its_rate_and_step_count_from_tensors()
    {
        // BeginStep (host: count, rate into device tensors) then Update (device only) is exactly a whole step with a
        // host rate; a loaded step count is where the device count resumes.
        var data = TestData.PatternCorpus();
        var o = Options(data);
        using var a = new Trainer(Tiny, o with { Steps = 3 }, TestData.Open);
        var ra = a.Run();
        using var c = new Trainer(Tiny, o with { Steps = 3 }, TestData.Open);
        var opt = c.Engine;
        var weights = a.Engine.Full.MasterWeights().ToDictionary(w => w.Name, w => w.Tensor.clone());
        var moments = a.Engine.Full.OptimizerState().ToDictionary(w => w.Name, w => w.Tensor.clone());
        opt.Full.Load(weights, moments, 3);
        using var b = new Trainer(Tiny, o with { Steps = 3 }, TestData.Open);
        b.Engine.Full.Load(weights, moments, 3);
        foreach (var p in c.Model.parameters()) p.grad = ones_like(p);
        foreach (var p in b.Model.parameters()) p.grad = ones_like(p);
        opt.BeginStep(1e-3);
        opt.Update();
        b.Engine.ReduceAndStep(1e-3);
        Assert.Equal(4, opt.Optimizer.StepCount);
        Assert.Equal(4f, opt.Optimizer.StepTensor.item<float>());
        var wb = Weights(b.Engine);
        foreach (var (name, w) in Weights(opt)) Assert.Equal(wb[name], w);
    }

    static (Tensor X, Tensor Y) Batch(DataPipeline.Loading.IBatchSource source)
    {
        var x = new long[source.BatchSize * source.BlockSize];
        var y = new long[x.Length];
        source.NextBatch(x, y);
        return (tensor(x, [source.BatchSize, source.BlockSize]), tensor(y, [source.BatchSize, source.BlockSize]));
    }

    static Dictionary<string, float[]> Weights(StepEngine opt) =>
        opt.Full.MasterWeights().ToDictionary(w => w.Name, w => w.Tensor.cpu().data<float>().ToArray());
}
