using Orchestrator.Sharding.Communication;
using Orchestrator.Tests.Sharding.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Sharding;

/// <summary>
/// Every ring collective against a reference computed locally, for worlds 1-4, odd lengths, fp32 and bf16.
/// Inputs are small integers, so sums are exact in bf16 too and the comparisons can be exact.
/// </summary>
public sealed class CollectiveTests
{
    static readonly long[] Lengths = [1, 7, 1001, 300_007];

    static Tensor Input(int rank, long n, ScalarType dtype, int salt = 0)
    {
        var g = new Generator((ulong)(1000 * rank + 17 * salt + n % 97));
        return randint(-8, 9, [n], generator: g).to(dtype);
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    public static TheoryData<int, string> Cases()
    {
        var d = new TheoryData<int, string>();
        foreach (var w in new[] { 1, 2, 3, 4 })
            foreach (var t in new[] { "float32", "bfloat16" }) d.Add(w, t);
        return d;
    }

    static ScalarType Dtype(string name) => name == "float32" ? ScalarType.Float32 : ScalarType.BFloat16;

    [Theory, MemberData(nameof(Cases))]
    public void AllReduce_sum_and_avg_match_the_reference(int world, string dtypeName)
    {
        var dtype = Dtype(dtypeName);
        var failures = RingWorld.Run(world, comm =>
        {
            var bad = new List<string>();
            foreach (var n in Lengths)
            {
                var expected = zeros(n, dtype: ScalarType.Float32);
                for (var r = 0; r < world; r++) expected.add_(Input(r, n, dtype).to(ScalarType.Float32));
                var t = Input(comm.Rank, n, dtype);
                comm.AllReduce(t, ReduceOp.Sum);
                if (!Same(t.to(ScalarType.Float32), expected)) bad.Add($"sum n={n}");
                var a = Input(comm.Rank, n, dtype);
                comm.AllReduce(a, ReduceOp.Avg);
                var avgRef = (expected / world).to(dtype).to(ScalarType.Float32);
                if (!a.to(ScalarType.Float32).allclose(avgRef, rtol: dtype == ScalarType.BFloat16 ? 1e-2 : 1e-6, atol: 1e-6)) bad.Add($"avg n={n}");
            }
            return bad;
        });
        Assert.All(failures, f => Assert.Empty(f));
    }

    [Theory, MemberData(nameof(Cases))]
    public void ReduceScatter_gives_rank_r_the_sum_of_chunk_r(int world, string dtypeName)
    {
        var dtype = Dtype(dtypeName);
        var failures = RingWorld.Run(world, comm =>
        {
            var bad = new List<string>();
            foreach (var chunk in new long[] { 1, 13, 100_003 })
            {
                var n = chunk * world;
                var expected = zeros(n, dtype: ScalarType.Float32);
                for (var r = 0; r < world; r++) expected.add_(Input(r, n, dtype).to(ScalarType.Float32));
                var input = Input(comm.Rank, n, dtype);
                var before = input.clone();
                var output = zeros(chunk, dtype: dtype);
                comm.ReduceScatter(input, output, ReduceOp.Sum);
                if (!Same(output.to(ScalarType.Float32), expected.narrow(0, chunk * comm.Rank, chunk))) bad.Add($"chunk={chunk}");
                if (!Same(input, before)) bad.Add($"input modified chunk={chunk}");
            }
            return bad;
        });
        Assert.All(failures, f => Assert.Empty(f));
    }

    [Theory, MemberData(nameof(Cases))]
    public void AllGather_concatenates_in_rank_order(int world, string dtypeName)
    {
        var dtype = Dtype(dtypeName);
        var failures = RingWorld.Run(world, comm =>
        {
            var bad = new List<string>();
            foreach (var n in Lengths)
            {
                var output = zeros(n * world, dtype: dtype);
                comm.AllGather(Input(comm.Rank, n, dtype, salt: 1), output);
                var expected = cat(Enumerable.Range(0, world).Select(r => Input(r, n, dtype, salt: 1)).ToArray(), 0);
                if (!Same(output, expected)) bad.Add($"n={n}");
            }
            return bad;
        });
        Assert.All(failures, f => Assert.Empty(f));
    }

    [Theory, MemberData(nameof(Cases))]
    public void Broadcast_copies_the_root_to_everyone(int world, string dtypeName)
    {
        var dtype = Dtype(dtypeName);
        var failures = RingWorld.Run(world, comm =>
        {
            var bad = new List<string>();
            foreach (var n in new long[] { 1, 1001, 700_001 }) // 700,001 x 4 bytes spans several 1 MiB pieces
                for (var root = 0; root < world; root++)
                {
                    var t = Input(comm.Rank, n, dtype, salt: 2);
                    comm.Broadcast(t, root);
                    if (!Same(t, Input(root, n, dtype, salt: 2))) bad.Add($"n={n} root={root}");
                }
            comm.Barrier();
            return bad;
        });
        Assert.All(failures, f => Assert.Empty(f));
    }

    [Fact]
    public void Async_collectives_complete_in_issue_order()
    {
        var sums = RingWorld.Run(3, comm =>
        {
            var ts = Enumerable.Range(0, 5).Select(i => full(1001, (float)(i + comm.Rank))).ToList();
            var tasks = ts.Select(t => comm.AllReduceAsync(t)).ToList();
            Task.WaitAll(tasks.ToArray());
            return ts.Select(t => t[0].ToSingle()).ToArray();
        });
        foreach (var s in sums) Assert.Equal(new float[] { 3, 6, 9, 12, 15 }, s);
    }

    [Fact]
    public void Reductions_reject_integer_tensors_with_a_clear_error()
    {
        var msgs = RingWorld.Run(1, comm => Assert.Throws<ArgumentException>(() => comm.AllReduce(ones(3, dtype: ScalarType.Int64))).Message);
        Assert.Contains("float32 and bfloat16", msgs[0]);
    }

    [Fact]
    public void A_hung_peer_fails_the_collective_at_the_timeout_naming_the_peer()
    {
        var options = new Orchestrator.Sharding.Ring.RingOptions(TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(2));
        using var release = new ManualResetEventSlim();
        var results = RingWorld.Run(2, comm =>
        {
            if (comm.Rank == 1) { release.Wait(TimeSpan.FromSeconds(30)); return ""; } // joins, then never takes part
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var e = Assert.Throws<CommunicatorException>(() => comm.AllReduce(ones(10)));
            release.Set();
            Assert.InRange(watch.Elapsed.TotalSeconds, 1.5, 10);
            // Later calls fail at once with the same cause.
            Assert.Same(e, Assert.Throws<CommunicatorException>(() => comm.Barrier()));
            return e.Message;
        }, options);
        Assert.Contains("timed out after 2 s", results[0]);
        Assert.Contains("rank 1", results[0]);
    }
}
