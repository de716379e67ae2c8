using System.Globalization;
using Orchestrator.Sharding.Checkpointing;
using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Launch;
using Orchestrator.Sharding.Interop;
using Orchestrator.Sharding.Engine;
using Orchestrator.Sharding.RankHost;
using Orchestrator.Sharding.Ring;
using static TorchSharp.torch;

// Usage (one rank; RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT from the environment, world 1 without them):
//   train --zero Z [--zero3 recompute] --steps N --batch G --accum K --seed S --lr X [--save-at K --checkpoint-dir D] [--resume D]
//     prints "step <n> loss <x>" on rank 0 for every step it runs
//   allreduce-loop   all-reduces forever, printing "ready" after the first; for the dead-peer test
try
{
    TorchRuntime.Initialize();
    set_num_threads(1);
    var opts = ParseArgs(args.Skip(1).ToArray());
    var env = RankEnvironment.Current;
    var timeout = TimeSpan.FromSeconds(double.Parse(Get(opts, "timeout", "60"), CultureInfo.InvariantCulture));
    var ring = new RingOptions(timeout, timeout);
    using var comm = env is null
        ? RingCommunicator.Connect(new Rendezvous(Rendezvous.Ring, 0, 1, ["-"], null))
        : RingCommunicator.ConnectStandalone(env.Rank, env.WorldSize, env.Master, ring);
    switch (args.FirstOrDefault())
    {
        case "train": Train(comm, opts); break;
        case "allreduce-loop": AllReduceLoop(comm); break;
        default: throw new ArgumentException("mode must be 'train' or 'allreduce-loop'");
    }
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 3;
}

static void Train(ICommunicator comm, Dictionary<string, string> o)
{
    var zero = int.Parse(Get(o, "zero", "0"));
    var steps = int.Parse(Get(o, "steps", "20"));
    var global = int.Parse(Get(o, "batch", "12"));
    var accum = int.Parse(Get(o, "accum", "1"));
    var seed = int.Parse(Get(o, "seed", "7"));
    var lr = double.Parse(Get(o, "lr", "0.01"), CultureInfo.InvariantCulture);
    var saveAt = int.Parse(Get(o, "save-at", "-1"));
    var ckptDir = o.GetValueOrDefault("checkpoint-dir");
    var resume = o.GetValueOrDefault("resume");
    if (global % (comm.WorldSize * accum) != 0) throw new ArgumentException($"batch {global} must divide by world x accum");
    var model = TinyGpt.Build(seed, tied: Get(o, "tied", "false") == "true");
    using var trainer = new StepEngine(model, comm, new EngineOptions(zero, BucketBytes: 4096, RecomputeZero3: Get(o, "zero3", "") == "recompute"));
    if (zero == 3 && comm.Rank == 0)
        Console.WriteLine(trainer.Zero3FreesStorage ? "zero3 frees storage" : $"zero3 recomputes: {trainer.Zero3RecomputeReason}");
    long start = 0;
    if (resume is not null)
    {
        var m = ShardedCheckpoint.Load(resume, trainer);
        start = long.Parse(m.Metadata["cursor"], CultureInfo.InvariantCulture); // the synthetic loader's cursor: global batches consumed
    }
    var perRank = global / comm.WorldSize;
    var micro = perRank / accum;
    for (var step = start; step < steps; step++)
    {
        using var scope = NewDisposeScope();
        var (x, y) = TinyGpt.GlobalBatch(seed, step, global);
        var mine = Enumerable.Range(0, accum)
            .Select(k => (x.narrow(0, comm.Rank * perRank + k * micro, micro), y.narrow(0, comm.Rank * perRank + k * micro, micro)))
            .ToList();
        var loss = trainer.Step(mine, lr);
        if (comm.Rank == 0) Console.WriteLine($"step {step + 1} loss {loss.ToString("R", CultureInfo.InvariantCulture)}");
        if (step + 1 == saveAt && ckptDir is not null)
            ShardedCheckpoint.Save(ckptDir, trainer, step + 1, new Dictionary<string, string> { ["cursor"] = (step + 1).ToString(CultureInfo.InvariantCulture) });
    }
}

static void AllReduceLoop(ICommunicator comm)
{
    using var t = ones(1000);
    comm.AllReduce(t);
    Console.WriteLine("ready");
    while (true) comm.AllReduce(t, ReduceOp.Avg);
}

static Dictionary<string, string> ParseArgs(string[] a)
{
    var d = new Dictionary<string, string>();
    for (var i = 0; i + 1 < a.Length; i += 2) d[a[i].TrimStart('-')] = a[i + 1];
    return d;
}

static string Get(Dictionary<string, string> d, string k, string dflt) => d.GetValueOrDefault(k, dflt);
