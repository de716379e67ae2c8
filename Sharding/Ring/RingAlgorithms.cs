using System.Runtime.InteropServices;
using Orchestrator.Sharding.Communication;

namespace Orchestrator.Sharding.Ring;

/// <summary>
/// The ring collectives on host memory. A buffer of N elements is cut into W chunks (chunk i spans
/// [i*N/W, (i+1)*N/W), so odd lengths work). Reduce-scatter: in W-1 steps each rank sends one chunk to the next
/// rank while it receives another from the previous one and adds it in, so that rank r ends with the full sum of
/// chunk r. All-gather: W-1 more steps pass the finished chunks around. Each step's receive is cut into pieces
/// (<see cref="PieceBytes"/>) that are reduced as they arrive while the send of the same step proceeds on the
/// <see cref="SendWorker"/> thread: the wire and the adds overlap. Bus traffic per rank is 2(W-1)/W x N, the
/// bandwidth-optimal bound that nccl-tests' busbw assumes.
/// </summary>
sealed unsafe class RingAlgorithms(RingLinks links, SendWorker sender, int rank, int world) : IDisposable
{
    public const int PieceBytes = 1 << 20;
    readonly nint _scratch = (nint)NativeMemory.AlignedAlloc(PieceBytes, 64);

    int Mod(int i) => ((i % world) + world) % world;

    static long Start(long n, int world, int i) => n * i / world;

    public void AllReduce(TensorBuffer b, ReduceOp op)
    {
        if (world > 1 && b.Count > 0)
        {
            Func<int, long> start = i => Start(b.Count, world, i);
            ReduceScatterPhase(b, start, "all-reduce");
            AllGatherPhase(b.Pointer, b.ElementSize, start, "all-reduce");
        }
        if (op == ReduceOp.Avg && world > 1) Reducers.Divide(b.Kind, b.Pointer, b.Count, world);
    }

    /// <summary><paramref name="work"/> (W x n elements) is summed in place; chunk r of it is this rank's result.</summary>
    public void ReduceScatter(TensorBuffer work, long n)
    {
        if (world > 1) ReduceScatterPhase(work, i => n * i, "reduce-scatter");
    }

    /// <summary><paramref name="output"/> (W x n) holds this rank's chunk at r; the others are filled in.</summary>
    public void AllGather(TensorBuffer output, long n)
    {
        if (world > 1) AllGatherPhase(output.Pointer, output.ElementSize, i => n * i, "all-gather");
    }

    public void Broadcast(TensorBuffer b, int root)
    {
        if (world == 1) return;
        // A pipeline root -> root+1 -> ... -> root-1: each piece is forwarded as soon as it arrives.
        for (long off = 0; off < b.Bytes; off += PieceBytes)
        {
            var len = Math.Min(PieceBytes, b.Bytes - off);
            if (rank != root) links.Receive(b.Pointer + (nint)off, len, "broadcast");
            if (links.NextRank != root) links.Send(b.Pointer + (nint)off, len, "broadcast");
        }
    }

    void ReduceScatterPhase(TensorBuffer b, Func<int, long> start, string op)
    {
        var es = b.ElementSize;
        for (var s = 0; s < world - 1; s++)
        {
            int send = Mod(rank - s - 1), recv = Mod(rank - s - 2);
            long s0 = start(send), s1 = start(send + 1), r0 = start(recv), r1 = start(recv + 1);
            sender.Post(b.Pointer + (nint)(s0 * es), (s1 - s0) * es);
            Exception? failure = null;
            try
            {
                var pieceElems = PieceBytes / es;
                for (var e = r0; e < r1; e += pieceElems)
                {
                    var cnt = Math.Min(pieceElems, r1 - e);
                    links.Receive(_scratch, cnt * es, op);
                    Reducers.AddInto(b.Kind, b.Pointer + (nint)(e * es), _scratch, cnt);
                }
            }
            catch (Exception e) { failure = e; }
            JoinSend(failure);
        }
    }

    void AllGatherPhase(nint ptr, int es, Func<int, long> start, string op)
    {
        for (var s = 0; s < world - 1; s++)
        {
            int send = Mod(rank - s), recv = Mod(rank - s - 1);
            long s0 = start(send), s1 = start(send + 1), r0 = start(recv), r1 = start(recv + 1);
            sender.Post(ptr + (nint)(s0 * es), (s1 - s0) * es);
            Exception? failure = null;
            try { links.Receive(ptr + (nint)(r0 * es), (r1 - r0) * es, op); }
            catch (Exception e) { failure = e; }
            JoinSend(failure);
        }
    }

    // The receive's failure names the first cause; a send that fails afterwards only echoes it. If the receive
    // failed, the send may be blocked on a healthy but stalled peer: closing the links (the caller's abort) frees it.
    void JoinSend(Exception? receiveFailure)
    {
        if (receiveFailure is not null)
        {
            links.Dispose();
            try { sender.Join(); } catch (Exception) { /* the receive's error is the one to report */ }
            throw receiveFailure;
        }
        sender.Join();
    }

    public void Dispose() => NativeMemory.AlignedFree((void*)_scratch);
}
