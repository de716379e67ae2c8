using Orchestrator.Sharding.Communication;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Parallel;

// ZeRO-3: parameters live only as shards. Forward gathers stage g (while stage g+1's gather is already queued:
// prefetch), runs it without autograd, keeps only its input (activation checkpointing at stage boundaries) and
// frees the gathered parameters. Backward walks the stages from the head: gather g (prefetching g-1),
// recompute its forward with autograd from the saved input, backward it with the gradient of its output,
// reduce-scatter its parameter gradients into this rank's shard asynchronously, free. This is the
// FSDP + activation-checkpointing pattern; the price is one extra forward per stage.
public sealed partial class ShardedTrainer
{
    (Tensor Buffer, Task Task) Gather(int g)
    {
        var gs = Layout.Groups[g];
        var buf = empty(gs.Padded, dtype: _dtype, device: _device);
        return (buf, _comm.AllGatherAsync(_paramShard!.narrow(0, gs.ShardOffset, gs.ShardLength), buf));
    }

    double Zero3Pass(Tensor x, Tensor y, int microSteps, Tensor shardGradAcc)
    {
        using var scope = NewDisposeScope();
        var n = _model.Stages.Count;
        var gathered = new Dictionary<int, (Tensor Buffer, Task Task)>();
        void Prefetch(int g) { if (g >= 0 && g < n && !gathered.ContainsKey(g)) gathered[g] = Gather(g); }
        void Use(int g) { CommunicatorExtensions.Wait(gathered[g].Task); _copies.Materialize(g, gathered[g].Buffer); }
        void Free(int g) { _copies.Release(g, _dtype, _device); gathered[g].Buffer.Dispose(); gathered.Remove(g); }

        var saved = new Tensor[n];
        var h = x;
        using (no_grad())
        {
            for (var g = 0; g < n; g++)
            {
                Prefetch(g);
                Prefetch(g + 1);
                Use(g);
                saved[g] = h;
                h = _model.Stages[g].Forward(h);
                if (g < n - 1) Free(g); // the head stays for the backward, which starts with it
            }
        }

        var pending = new List<(Task Task, Tensor Out, int Group)>();
        Tensor? upstream = null;
        double value = 0;
        for (var g = n - 1; g >= 0; g--)
        {
            Prefetch(g);
            Prefetch(g - 1);
            Use(g);
            var input = g == 0 ? x : saved[g].detach().requires_grad_(true);
            var output = _model.Stages[g].Forward(input);
            if (g == n - 1)
            {
                var loss = _model.Loss(output, y);
                value = loss.item<float>(); // sync point
                (loss / microSteps).backward();
            }
            else output.backward([upstream!]);
            upstream = g > 0 ? input.grad : null;
            var gs = Layout.Groups[g];
            var flat = zeros(gs.Padded, dtype: _dtype, device: _device);
            _copies.GradsToFlat(g, flat, gs.FullOffset);
            var shardOut = empty(gs.ShardLength, dtype: _dtype, device: _device);
            pending.Add((_comm.ReduceScatterAsync(flat, shardOut, ReduceOp.Avg), shardOut, g));
            Free(g);
        }
        using (no_grad())
        {
            foreach (var (task, outp, g) in pending)
            {
                CommunicatorExtensions.Wait(task);
                var gs = Layout.Groups[g];
                shardGradAcc.narrow(0, gs.ShardOffset, gs.ShardLength).add_(outp.to(ScalarType.Float32));
            }
        }
        return value;
    }
}
