using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Worker.Hosting;

/// <summary>
/// A training job without TorchSharp that exercises the whole control plane for real: every step does StepMs of
/// CPU work (hashing), its "loss" is a deterministic function of the global step (so an interrupted run and an
/// uninterrupted one end with the same loss), and every checkpoint writes one real shard file per rank
/// (temp + rename). A resume reads every shard of the checkpoint, whatever world size wrote it: the state is
/// replicated, so "resharding" is checking that all shards agree.
/// </summary>
public sealed class LightTrainingJob(RunAssignment a, WorkerIdentity worker) : ITrainingJob
{
    readonly byte[] block = new byte[4096];
    int step;
    double lossSum;
    volatile bool aborted;

    public int NextStep => step + 1;

    public string PrepareBootstrap() => $"{worker.AdvertiseHost}:{Environment.ProcessId}";

    public void Start(IReadOnlyList<string> bootstraps)
    {
        if (bootstraps.Count != a.WorldSize) throw new InvalidOperationException($"{bootstraps.Count} bootstraps for world size {a.WorldSize}");
        // Its own checkpoint first; else a fork's source (init_from: a checkpoint folder of another run).
        var ck = a.ResumeFrom;
        if (ck is null && a.Spec.InitFrom is { } from)
        {
            var first = Directory.Exists(from) ? Directory.GetFiles(from, "rank-*.json") : [];
            if (first.Length == 0) throw new InvalidDataException($"init_from {from}: no light checkpoint there");
            var head = JsonSerializer.Deserialize<Shard>(File.ReadAllText(first[0]))!;
            if (a.Spec.ForkStep is int fork && head.Step != fork)
                throw new InvalidDataException($"init_from {from}: it is the checkpoint of step {head.Step}, not of the fork step {fork}");
            ck = new CheckpointRef(head.Step, from, 0, head.WorldSize, DateTimeOffset.UtcNow);
        }
        if (ck is null) return;
        var shards = Directory.Exists(ck.Path) ? Directory.GetFiles(ck.Path, "rank-*.json") : [];
        if (shards.Length != ck.WorldSize)
            throw new InvalidDataException($"checkpoint {ck.Path}: {shards.Length} shards, expected {ck.WorldSize}");
        var states = shards.Select(f => JsonSerializer.Deserialize<Shard>(File.ReadAllText(f))!).ToArray();
        if (states.Any(s => s.Step != ck.Step || s.LossSum != states[0].LossSum))
            throw new InvalidDataException($"checkpoint {ck.Path}: shards disagree");
        step = ck.Step;
        lossSum = states[0].LossSum;
    }

    public StepOutcome Step()
    {
        if (aborted) throw new TransientJobException("aborted");
        var sw = Stopwatch.StartNew();
        step++;
        // Real work for StepMs: hash a block until the step's budget is spent.
        do { SHA256.HashData(block, block.AsSpan(0, 32)); } while (sw.ElapsedMilliseconds < a.Spec.StepMs && !aborted);
        double loss = LossAt(step, a.Spec.Seed);
        lossSum += loss;
        long tokens = (long)a.Spec.Batch * a.Spec.Model.BlockSize * a.WorldSize;
        var seconds = Math.Max(sw.Elapsed.TotalSeconds, 1e-6);
        var metrics = new MetricPoint(step, loss, tokens / seconds, null, DateTimeOffset.UtcNow, StepSeconds: seconds);
        bool last = step >= a.TotalSteps;
        CheckpointRef? ck = null;
        if (last || step % a.Spec.Checkpoint.Every == 0 || a.Spec.Checkpoint.Pinned.Contains(step)) ck = WriteShard();
        return new StepOutcome([metrics], ck, last, last ? loss + 0.05 : null);
    }

    /// <summary>A smooth decreasing curve with a little seed-dependent wiggle: the same for every world size.</summary>
    public static double LossAt(int step, int seed) =>
        1.5 + 3.0 * Math.Exp(-step / 150.0) + 0.01 * Math.Sin(step * 0.7 + seed);

    CheckpointRef WriteShard()
    {
        var dir = Path.Combine(a.Spec.Checkpoint.Path, a.RunId, $"step-{step:D6}-generation-{a.Generation}");
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, $"rank-{a.Rank}.json");
        var tmp = file + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(new Shard(step, a.Rank, a.WorldSize, lossSum)));
        File.Move(tmp, file, overwrite: true);
        return new CheckpointRef(step, dir, a.Generation, a.WorldSize, DateTimeOffset.UtcNow);
    }

    public void Abort() => aborted = true;
    public void Dispose() { }

    sealed record Shard(int Step, int Rank, int WorldSize, double LossSum);
}
