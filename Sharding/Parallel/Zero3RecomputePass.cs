using Orchestrator.Sharding.Communication;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Sharding.Parallel;

// ZeRO-3 where libtorch's storage cannot be freed in place (ORCH_ZERO3=recompute, or the resizer's checks failed):
// forward gathers stage g (prefetching g+1), runs it without autograd, keeps only its input (activation
// checkpointing at stage boundaries) and frees the gathered parameters. Backward walks the stages from the head:
// gather g (prefetching g-1), recompute its forward with autograd from the saved input, backward it with the
// gradient of its output, reduce-scatter its parameter gradients into this rank's shard asynchronously, free.
// This is the FSDP + activation-checkpointing pattern; the price is one extra forward per stage.
public sealed partial class ShardedTrainer
{
    Tensor Zero3RecomputePass(Tensor x, Tensor y, int microSteps, Tensor shardGradAcc)
    {
        using var scope = NewDisposeScope();
        var n = _model.Stages.Count;
        var gathered = new Dictionary<int, (Tensor Buffer, Task Task)>();
        var materialized = new HashSet<int>();
        void Prefetch(int stage)
        {
            if (stage < 0 || stage >= n) return;
            foreach (var g in _needs[stage]) if (!gathered.ContainsKey(g)) gathered[g] = Gather(g);
        }
        void Use(int stage)
        {
            foreach (var g in _needs[stage])
            {
                if (!materialized.Add(g)) continue;
                _comm.WaitOnDevice(gathered[g].Task);
                _copies.Materialize(g, gathered[g].Buffer);
            }
        }
        // Frees the groups no stage still to run (in this phase) needs.
        void FreeAfter(int stage, IEnumerable<int> remaining)
        {
            var keep = remaining.SelectMany(s => _needs[s]).ToHashSet();
            foreach (var g in _needs[stage])
            {
                if (keep.Contains(g) || !gathered.ContainsKey(g)) continue;
                _copies.Release(g, _dtype, _device);
                gathered[g].Buffer.Dispose();
                gathered.Remove(g);
                materialized.Remove(g);
            }
        }

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
                // The head stays for the backward, which starts with it (as does whatever it shares).
                FreeAfter(g, Enumerable.Range(g + 1, n - g - 1).Append(n - 1));
            }
        }

        var pending = new List<(Task Task, Tensor Out, int Group)>();
        Tensor? upstream = null;
        Tensor? value = null;
        for (var g = n - 1; g >= 0; g--)
        {
            Prefetch(g);
            Prefetch(g - 1);
            Use(g);
            var input = g == 0 ? x : saved[g].detach().requires_grad_(true);
            var output = _model.Stages[g].Forward(input);
            if (g == n - 1) value = BackwardFromLoss(output, y, microSteps);
            else output.backward([upstream!]);
            upstream = g > 0 ? input.grad : null;
            ReduceScatterStage(g, pending);
            FreeAfter(g, Enumerable.Range(0, g));
        }
        AccumulateShards(pending, shardGradAcc);
        return value!;
    }
}
