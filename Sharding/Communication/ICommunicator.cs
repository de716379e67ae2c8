using TorchSharp;

namespace Orchestrator.Sharding.Communication;

/// <summary>How a reduction combines the ranks' values.</summary>
public enum ReduceOp { Sum, Avg }

/// <summary>
/// Collectives over the ranks of one world, on contiguous tensors (reductions: fp32 and bf16; gathers and broadcasts
/// copy bytes, so any dtype). Every rank must issue the same collectives in the same order, as with NCCL.
/// The async forms queue the operation on the communicator's own stream (a thread for the ring, a CUDA stream for
/// NCCL) so it overlaps compute; the caller keeps the tensors alive and untouched until the task completes.
/// A failed collective (dead peer, timeout) faults the communicator: every later call throws
/// <see cref="CommunicatorException"/> naming the first cause.
/// </summary>
public interface ICommunicator : IDisposable
{
    int Rank { get; }
    int WorldSize { get; }

    /// <summary>"ring" or "nccl".</summary>
    string Backend { get; }

    /// <summary>In place: every rank ends with the sum (or mean) of all ranks' <paramref name="tensor"/>.</summary>
    Task AllReduceAsync(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum);

    /// <summary><paramref name="input"/> holds WorldSize equal chunks; rank r gets the reduction of chunk r in <paramref name="output"/>.</summary>
    Task ReduceScatterAsync(torch.Tensor input, torch.Tensor output, ReduceOp op = ReduceOp.Sum);

    /// <summary><paramref name="output"/> (WorldSize x input) gets every rank's <paramref name="input"/>, in rank order.</summary>
    Task AllGatherAsync(torch.Tensor input, torch.Tensor output);

    /// <summary>In place: every rank ends with <paramref name="root"/>'s <paramref name="tensor"/>.</summary>
    Task BroadcastAsync(torch.Tensor tensor, int root = 0);

    /// <summary>Returns once every rank has reached it.</summary>
    Task BarrierAsync();

    /// <summary>
    /// Orders the compute that this rank queues from now on after <paramref name="collective"/>, without blocking the
    /// host where the backend can (NCCL: the compute stream waits on the collective's CUDA event, so the CPU keeps
    /// queueing kernels ahead of the GPU). The ring runs its collectives on host threads, so it waits here. A
    /// failure already known is thrown; a later one surfaces at the next collective.
    /// </summary>
    void WaitOnDevice(Task collective) => CommunicatorExtensions.Wait(collective);

    /// <summary>Fails pending and future collectives at once and tears the connections down, so peers fail fast too.</summary>
    void Abort(string reason);
}

/// <summary>Blocking forms of the collectives, for code that has nothing to overlap.</summary>
public static class CommunicatorExtensions
{
    public static void AllReduce(this ICommunicator c, torch.Tensor t, ReduceOp op = ReduceOp.Sum) => Wait(c.AllReduceAsync(t, op));
    public static void ReduceScatter(this ICommunicator c, torch.Tensor input, torch.Tensor output, ReduceOp op = ReduceOp.Sum) => Wait(c.ReduceScatterAsync(input, output, op));
    public static void AllGather(this ICommunicator c, torch.Tensor input, torch.Tensor output) => Wait(c.AllGatherAsync(input, output));
    public static void Broadcast(this ICommunicator c, torch.Tensor t, int root = 0) => Wait(c.BroadcastAsync(t, root));
    public static void Barrier(this ICommunicator c) => Wait(c.BarrierAsync());

    /// <summary>Waits and rethrows the collective's own exception (not an AggregateException).</summary>
    public static void Wait(Task t) => t.GetAwaiter().GetResult();
}

/// <summary>A collective failed: a peer died or hung, or the communicator was aborted. The message names the rank and the cause.</summary>
public sealed class CommunicatorException(string message, Exception? inner = null) : Exception(message, inner);
