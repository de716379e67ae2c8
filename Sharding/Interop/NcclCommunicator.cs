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
///
/// Risk: NCCL calls on one communicator from several threads (the training thread's collectives, the watchdog's
/// error poll, an abort from the worker) and events the device may still be reading. The communicator, stream and
/// events are SafeHandles passed to the bindings as such, so the abort runs only after the last call using the
/// communicator has returned and an event is destroyed only after the call waiting on it; every pending event is
/// destroyed once it completes, or when a fault fails it, or at dispose.
/// </summary>
public sealed class NcclCommunicator : ICommunicator
{
    readonly NcclCommHandle _comm;
    readonly CudaStreamHandle _stream;
    readonly CudaEventHandle _ready;
    readonly TimeSpan _timeout;
    readonly ConcurrentQueue<Pending> _pending = new();
    readonly SemaphoreSlim _signal = new(0);
    readonly Thread _watchdog;
    readonly Lock _gate = new();
    volatile Exception? _fault;
    volatile bool _disposed;

    sealed record Pending(CudaEventHandle Event, TaskCompletionSource Done, string Op, long Started);

    public int Rank { get; }
    public int WorldSize { get; }
    public string Backend => Rendezvous.Nccl;

    NcclCommunicator(NcclCommHandle comm, CudaStreamHandle stream, CudaEventHandle ready, int rank, int world, TimeSpan timeout)
    {
        _comm = comm; _stream = stream; _ready = ready; Rank = rank; WorldSize = world; _timeout = timeout;
        _watchdog = new Thread(Watch) { IsBackground = true, Name = $"nccl-watchdog-{rank}" };
        _watchdog.Start();
    }

    /// <summary>Rank 0 makes the id and hands it to every rank (inside the <see cref="Rendezvous"/>).</summary>
    public static byte[] MakeUniqueId()
    {
        NativeLibraries.Register();
        try { return NcclNative.UniqueId().ToArray(); }
        catch (DllNotFoundException e) { throw Missing(e); }
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
        try { CudaRuntimeNative.SetDevice(device); }
        catch (DllNotFoundException e) { throw Missing(e); }
        var comm = NcclNative.CommInitRank(rdv.WorldSize, NcclUniqueId.From(rdv.NcclUniqueId), rdv.Rank);
        CudaStreamHandle? stream = null;
        try
        {
            stream = CudaRuntimeNative.CreateStream();
            var ready = CudaRuntimeNative.CreateEvent(timing: false);
            return new NcclCommunicator(comm, stream, ready, rdv.Rank, rdv.WorldSize, timeout ?? TimeSpan.FromMinutes(2));
        }
        catch
        {
            stream?.Dispose();
            comm.Dispose();
            throw;
        }
    }

    public Task AllReduceAsync(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        var b = Device(tensor, "all-reduce", true);
        return Enqueue("ncclAllReduce", s => NcclNative.AllReduce(b.Pointer, b.Pointer, (nuint)b.Count, DataType(b), RedOp(op), _comm, s));
    }

    public Task ReduceScatterAsync(torch.Tensor input, torch.Tensor output, ReduceOp op = ReduceOp.Sum)
    {
        var i = Device(input, "reduce-scatter input", true);
        var o = Device(output, "reduce-scatter output", true);
        if (i.Count != o.Count * WorldSize || i.Dtype != o.Dtype)
            throw new ArgumentException($"reduce-scatter: input must hold WorldSize ({WorldSize}) x output ({o.Count}) elements of {o.Dtype}");
        return Enqueue("ncclReduceScatter", s => NcclNative.ReduceScatter(i.Pointer, o.Pointer, (nuint)o.Count, DataType(o), RedOp(op), _comm, s));
    }

    public Task AllGatherAsync(torch.Tensor input, torch.Tensor output)
    {
        var i = Device(input, "all-gather input", false);
        var o = Device(output, "all-gather output", false);
        if (o.Count != i.Count * WorldSize || i.Dtype != o.Dtype)
            throw new ArgumentException($"all-gather: output must hold WorldSize ({WorldSize}) x input ({i.Count}) elements of {i.Dtype}");
        var (dt, n) = ByteCopyType(i);
        return Enqueue("ncclAllGather", s => NcclNative.AllGather(i.Pointer, o.Pointer, n, dt, _comm, s));
    }

    public Task BroadcastAsync(torch.Tensor tensor, int root = 0)
    {
        var b = Device(tensor, "broadcast", false);
        var (dt, n) = ByteCopyType(b);
        return Enqueue("ncclBroadcast", s => NcclNative.Broadcast(b.Pointer, b.Pointer, n, dt, root, _comm, s));
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
                CudaRuntimeNative.StreamWaitEvent(CudaStreamHandle.Default, p.Event);
                return;
            }
        }
        CommunicatorExtensions.Wait(collective); // finished already (or failed: rethrows)
    }

    public void Abort(string reason) => Fail(new CommunicatorException($"nccl rank {Rank}: communicator aborted: {reason}"));

    Task Enqueue(string op, Func<CudaStreamHandle, NcclResult> call)
    {
        lock (_gate)
        {
            if (_fault is { } f) return Task.FromException(f);
            CudaRuntimeNative.EventRecord(_ready, CudaStreamHandle.Default);
            CudaRuntimeNative.StreamWaitEvent(_stream, _ready);
            var rc = call(_stream);
            if (rc != NcclResult.Success && rc != NcclResult.InProgress)
            {
                try { NcclNative.Check(rc, op, _comm); }
                catch (NcclException e) { Fail(e); return Task.FromException(e); }
            }
            var done = CudaRuntimeNative.CreateEvent(timing: false);
            try { CudaRuntimeNative.EventRecord(done, _stream); }
            catch { done.Dispose(); throw; }
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
                var q = CudaRuntimeNative.EventQuery(p.Event);
                if (q == CudaRuntimeNative.Success)
                {
                    lock (_gate)
                    {
                        _pending.TryDequeue(out _);
                        p.Event.Dispose();
                    }
                    p.Done.TrySetResult();
                    continue;
                }
                if (_fault is not null) break;
                Exception? why = null;
                if (q != CudaRuntimeNative.ErrorNotReady)
                    why = new CudaException($"{p.Op}: cudaEventQuery returned cudaError {q}");
                else if (NcclNative.AsyncError(_comm) is { } asyncRc && asyncRc != NcclResult.Success && asyncRc != NcclResult.InProgress)
                    why = new NcclException(p.Op, (int)asyncRc, $"nccl rank {Rank}: {p.Op} failed asynchronously: {NcclNative.ErrorString(asyncRc)} (a peer failed or the network broke)");
                else if (Stopwatch.GetElapsedTime(p.Started) > _timeout)
                    why = new CommunicatorException($"nccl rank {Rank}: {p.Op} did not finish within {_timeout.TotalSeconds:0} s (a peer is hung or dead); communicator aborted");
                if (why is not null) { Fail(why); break; }
                Thread.SpinWait(200);
                Thread.Yield();
            }
            if (_fault is { } fault) FailPending(fault);
        }
    }

    /// <summary>Fails every pending collective and destroys its event (the device may never reach it after a fault).</summary>
    void FailPending(Exception fault)
    {
        var dead = new List<Pending>();
        lock (_gate)
            while (_pending.TryDequeue(out var p))
            {
                p.Event.Dispose();
                dead.Add(p);
            }
        foreach (var p in dead) p.Done.TrySetException(fault);
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

    static NcclDataType DataType(TensorBuffer b) => b.Kind == ElementKind.Float32 ? NcclDataType.Float32 : NcclDataType.Bfloat16;

    static (NcclDataType, nuint) ByteCopyType(TensorBuffer b) => b.Kind switch
    {
        ElementKind.Float32 => (NcclDataType.Float32, (nuint)b.Count),
        ElementKind.BFloat16 => (NcclDataType.Bfloat16, (nuint)b.Count),
        _ => (NcclDataType.Uint8, (nuint)b.Bytes),
    };

    static NcclRedOp RedOp(ReduceOp op) => op == ReduceOp.Avg ? NcclRedOp.Avg : NcclRedOp.Sum;

    public void Dispose()
    {
        if (_disposed) return;
        if (_fault is null)
            try { CudaRuntimeNative.StreamSynchronize(_stream); }
            catch (CudaException) { } // a device error: the communicator is released below all the same
        _disposed = true;
        _signal.Release();
        _watchdog.Join();
        FailPending(_fault ?? new ObjectDisposedException(nameof(NcclCommunicator)));
        _comm.Dispose();
        _ready.Dispose();
        _stream.Dispose();
    }
}
