using System.Collections.Concurrent;
using System.Diagnostics;
using Orchestrator.Sharding.Communication;
using TorchSharp;

namespace Orchestrator.Sharding.Interop;

/// <summary>
/// The GPU communicator: NCCL on a CUDA stream of its own. Each collective first makes that stream wait for the
/// work already queued on the default stream (where TorchSharp computes), so its inputs are ready, then records
/// an event; the returned task completes when the event does, while compute goes on: backward overlaps the
/// reductions. A watchdog thread polls the pending events and ncclCommGetAsyncError; an NCCL error, or a
/// collective that has not finished within the timeout (a hung or dead peer), aborts the communicator
/// (ncclCommAbort) and fails every pending and later call with an exception that names the cause.
/// </summary>
public sealed class NcclCommunicator : ICommunicator
{
    readonly NcclCommHandle _comm;
    readonly nint _stream, _ready;
    readonly TimeSpan _timeout;
    readonly ConcurrentQueue<Pending> _pending = new();
    readonly SemaphoreSlim _signal = new(0);
    readonly Thread _watchdog;
    readonly Lock _gate = new();
    volatile Exception? _fault;
    volatile bool _disposed;

    sealed record Pending(nint Event, TaskCompletionSource Done, string Op, long Started);

    public int Rank { get; }
    public int WorldSize { get; }
    public string Backend => Rendezvous.Nccl;

    NcclCommunicator(NcclCommHandle comm, nint stream, nint ready, int rank, int world, TimeSpan timeout)
    {
        _comm = comm; _stream = stream; _ready = ready; Rank = rank; WorldSize = world; _timeout = timeout;
        _watchdog = new Thread(Watch) { IsBackground = true, Name = $"nccl-watchdog-{rank}" };
        _watchdog.Start();
    }

    /// <summary>Rank 0 makes the id and hands it to every rank (inside the <see cref="Rendezvous"/>).</summary>
    public static unsafe byte[] MakeUniqueId()
    {
        NativeLibraries.Register();
        NcclUniqueId id;
        try { NcclException.Check(NcclNative.ncclGetUniqueId(&id), "ncclGetUniqueId"); }
        catch (DllNotFoundException e) { throw Missing(e); }
        return id.ToArray();
    }

    static CommunicatorException Missing(DllNotFoundException e) => new(
        $"NCCL or the CUDA runtime could not be loaded ({e.Message.Split('\n')[0]}); set ORCH_NCCL to libnccl.so.2 and ORCH_CUDART to " +
        "libcudart.so.13, or ORCH_LIBTORCH to a PyTorch install's torch/lib; 'orch doctor' shows what was found", e);

    /// <summary>Joins the world on <paramref name="device"/> (0 with one GPU per process through CUDA_VISIBLE_DEVICES).</summary>
    public static NcclCommunicator Create(Rendezvous rdv, int device = 0, TimeSpan? timeout = null)
    {
        if (rdv.Backend != Rendezvous.Nccl || rdv.NcclUniqueId is null)
            throw new ArgumentException($"rendezvous is for '{rdv.Backend}', not NCCL (it needs the unique id made by rank 0)");
        NativeLibraries.Register();
        try { CudaRuntimeNative.Check(CudaRuntimeNative.cudaSetDevice(device), $"cudaSetDevice({device})"); }
        catch (DllNotFoundException e) { throw Missing(e); }
        NcclException.Check(NcclNative.ncclCommInitRank(out var comm, rdv.WorldSize, NcclUniqueId.From(rdv.NcclUniqueId), rdv.Rank),
            $"ncclCommInitRank(rank {rdv.Rank} of {rdv.WorldSize})");
        var handle = new NcclCommHandle(comm);
        CudaRuntimeNative.Check(CudaRuntimeNative.cudaStreamCreateWithFlags(out var stream, CudaRuntimeNative.StreamNonBlocking), "cudaStreamCreateWithFlags");
        CudaRuntimeNative.Check(CudaRuntimeNative.cudaEventCreateWithFlags(out var ready, CudaRuntimeNative.EventDisableTiming), "cudaEventCreateWithFlags");
        return new NcclCommunicator(handle, stream, ready, rdv.Rank, rdv.WorldSize, timeout ?? TimeSpan.FromMinutes(2));
    }

    public Task AllReduceAsync(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        var b = Device(tensor, "all-reduce", true);
        return Enqueue("ncclAllReduce", s => NcclNative.ncclAllReduce(b.Pointer, b.Pointer, (nuint)b.Count, DataType(b), RedOp(op), _comm.DangerousGetHandle(), s));
    }

    public Task ReduceScatterAsync(torch.Tensor input, torch.Tensor output, ReduceOp op = ReduceOp.Sum)
    {
        var i = Device(input, "reduce-scatter input", true);
        var o = Device(output, "reduce-scatter output", true);
        if (i.Count != o.Count * WorldSize || i.Dtype != o.Dtype)
            throw new ArgumentException($"reduce-scatter: input must hold WorldSize ({WorldSize}) x output ({o.Count}) elements of {o.Dtype}");
        return Enqueue("ncclReduceScatter", s => NcclNative.ncclReduceScatter(i.Pointer, o.Pointer, (nuint)o.Count, DataType(o), RedOp(op), _comm.DangerousGetHandle(), s));
    }

    public Task AllGatherAsync(torch.Tensor input, torch.Tensor output)
    {
        var i = Device(input, "all-gather input", false);
        var o = Device(output, "all-gather output", false);
        if (o.Count != i.Count * WorldSize || i.Dtype != o.Dtype)
            throw new ArgumentException($"all-gather: output must hold WorldSize ({WorldSize}) x input ({i.Count}) elements of {i.Dtype}");
        var (dt, n) = ByteCopyType(i);
        return Enqueue("ncclAllGather", s => NcclNative.ncclAllGather(i.Pointer, o.Pointer, n, dt, _comm.DangerousGetHandle(), s));
    }

    public Task BroadcastAsync(torch.Tensor tensor, int root = 0)
    {
        var b = Device(tensor, "broadcast", false);
        var (dt, n) = ByteCopyType(b);
        return Enqueue("ncclBroadcast", s => NcclNative.ncclBroadcast(b.Pointer, b.Pointer, n, dt, root, _comm.DangerousGetHandle(), s));
    }

    public Task BarrierAsync()
    {
        // NCCL has no barrier: a one-element all-reduce is one.
        var token = torch.zeros(1, device: torch.CUDA).DetachFromDisposeScope();
        return AllReduceAsync(token).ContinueWith(t => { token.Dispose(); t.GetAwaiter().GetResult(); }, TaskScheduler.Default);
    }

    public void WaitOnDevice(Task collective)
    {
        lock (_gate)
        {
            if (_fault is { } f) throw f;
            // Still pending: its event is alive (the watchdog destroys events under this lock).
            foreach (var p in _pending)
            {
                if (p.Done.Task != collective) continue;
                CudaRuntimeNative.Check(CudaRuntimeNative.cudaStreamWaitEvent(CudaRuntimeNative.DefaultStream, p.Event, 0), "cudaStreamWaitEvent");
                return;
            }
        }
        CommunicatorExtensions.Wait(collective); // finished already (or failed: rethrows)
    }

    public void Abort(string reason) => Fail(new CommunicatorException($"nccl rank {Rank}: communicator aborted: {reason}"));

    Task Enqueue(string op, Func<nint, int> call)
    {
        lock (_gate)
        {
            if (_fault is { } f) return Task.FromException(f);
            CudaRuntimeNative.Check(CudaRuntimeNative.cudaEventRecord(_ready, CudaRuntimeNative.DefaultStream), "cudaEventRecord");
            CudaRuntimeNative.Check(CudaRuntimeNative.cudaStreamWaitEvent(_stream, _ready, 0), "cudaStreamWaitEvent");
            var rc = call(_stream);
            if (rc != NcclNative.Success && rc != NcclNative.InProgress)
            {
                try { NcclException.Check(rc, op, _comm.DangerousGetHandle()); }
                catch (NcclException e) { Fail(e); return Task.FromException(e); }
            }
            CudaRuntimeNative.Check(CudaRuntimeNative.cudaEventCreateWithFlags(out var done, CudaRuntimeNative.EventDisableTiming), "cudaEventCreateWithFlags");
            CudaRuntimeNative.Check(CudaRuntimeNative.cudaEventRecord(done, _stream), "cudaEventRecord");
            var p = new Pending(done, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), op, Stopwatch.GetTimestamp());
            _pending.Enqueue(p);
            _signal.Release();
            return p.Done.Task;
        }
    }

    void Watch()
    {
        while (!_disposed)
        {
            _signal.Wait(100);
            while (_pending.TryPeek(out var p))
            {
                var q = CudaRuntimeNative.cudaEventQuery(p.Event);
                if (q == CudaRuntimeNative.Success)
                {
                    lock (_gate)
                    {
                        _pending.TryDequeue(out _);
                        CudaRuntimeNative.cudaEventDestroy(p.Event);
                    }
                    p.Done.TrySetResult();
                    continue;
                }
                if (_fault is not null) break;
                Exception? why = null;
                if (q != CudaRuntimeNative.ErrorNotReady)
                    why = new CudaException($"{p.Op}: cudaEventQuery returned cudaError {q}");
                else if (NcclNative.ncclCommGetAsyncError(_comm.DangerousGetHandle(), out var asyncRc) == NcclNative.Success &&
                         asyncRc != NcclNative.Success && asyncRc != NcclNative.InProgress)
                    why = new NcclException(p.Op, asyncRc, $"nccl rank {Rank}: {p.Op} failed asynchronously: {NcclNative.ErrorString(asyncRc)} (a peer failed or the network broke)");
                else if (Stopwatch.GetElapsedTime(p.Started) > _timeout)
                    why = new CommunicatorException($"nccl rank {Rank}: {p.Op} did not finish within {_timeout.TotalSeconds:0} s (a peer is hung or dead); communicator aborted");
                if (why is not null) { Fail(why); break; }
                Thread.SpinWait(200);
                Thread.Yield();
            }
            if (_fault is not null)
                while (_pending.TryDequeue(out var dead)) dead.Done.TrySetException(_fault);
        }
    }

    void Fail(Exception e)
    {
        lock (_gate)
        {
            if (_fault is not null) return;
            _fault = e;
        }
        _comm.MarkAborting();
        _comm.Dispose(); // ncclCommAbort: releases kernels stuck waiting on a dead peer
        _signal.Release();
    }

    static TensorBuffer Device(torch.Tensor t, string what, bool reduce)
    {
        if (t.device_type != DeviceType.CUDA)
            throw new ArgumentException($"{what}: NCCL needs a CUDA tensor, got one on {t.device}; use the ring backend on CPU");
        return TensorBuffer.Of(t, what, reduce);
    }

    static int DataType(TensorBuffer b) => b.Kind == ElementKind.Float32 ? NcclNative.Float32 : NcclNative.Bfloat16;

    static (int, nuint) ByteCopyType(TensorBuffer b) => b.Kind switch
    {
        ElementKind.Float32 => (NcclNative.Float32, (nuint)b.Count),
        ElementKind.BFloat16 => (NcclNative.Bfloat16, (nuint)b.Count),
        _ => (NcclNative.Uint8, (nuint)b.Bytes),
    };

    static int RedOp(ReduceOp op) => op == ReduceOp.Avg ? NcclNative.Avg : NcclNative.Sum;

    public void Dispose()
    {
        if (_disposed) return;
        if (_fault is null) CudaRuntimeNative.cudaStreamSynchronize(_stream);
        _disposed = true;
        _signal.Release();
        _watchdog.Join();
        _comm.Dispose();
        CudaRuntimeNative.cudaEventDestroy(_ready);
        CudaRuntimeNative.cudaStreamDestroy(_stream);
    }
}
