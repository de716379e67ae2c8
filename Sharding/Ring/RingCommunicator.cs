using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Orchestrator.Sharding.Communication;
using TorchSharp;

namespace Orchestrator.Sharding.Ring;

/// <summary>Timeouts of the ring. <see cref="Operation"/> bounds every blocking send and receive, so a hung peer fails the collective.</summary>
public sealed record RingOptions(TimeSpan Connect, TimeSpan Operation)
{
    public static readonly RingOptions Default = new(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(120));
}

/// <summary>
/// The CPU communicator: a TCP ring over host tensors with NCCL's semantics. Collectives run in issue order on
/// one communicator thread (the ring's "stream"), so the async forms overlap the caller's compute. The first
/// failure faults the communicator, closes its sockets (so the neighbours fail fast, and theirs, around the
/// ring) and fails every queued and later call with the same message.
/// </summary>
public sealed class RingCommunicator : ICommunicator
{
    readonly RingLinks _links;
    readonly SendWorker _sender;
    readonly RingAlgorithms _algo;
    readonly BlockingCollection<Action> _queue = new();
    readonly Thread _thread;
    volatile CommunicatorException? _fault;

    public int Rank { get; }
    public int WorldSize { get; }
    public string Backend => Rendezvous.Ring;

    RingCommunicator(int rank, int world, RingLinks links)
    {
        Rank = rank; WorldSize = world; _links = links;
        _sender = new SendWorker((p, n) => _links.Send(p, n, "send"), $"ring-send-{rank}");
        _algo = new RingAlgorithms(links, _sender, rank, world);
        _thread = new Thread(Loop) { IsBackground = true, Name = $"ring-comm-{rank}" };
        _thread.Start();
    }

    /// <summary>Binds a listener for this rank's ring endpoint ("host:0" picks a free port); returns it and the endpoint to publish.</summary>
    public static (Socket Listener, string Endpoint) Listen(string host = "127.0.0.1")
    {
        var ep = StandaloneRendezvous.ParseEndpoint(host + ":0", "ring host");
        var s = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(ep);
        s.Listen(4);
        var bound = (IPEndPoint)s.LocalEndPoint!;
        return (s, $"{host}:{bound.Port}");
    }

    /// <summary>Joins the ring described by <paramref name="rdv"/>. Without a listener, binds this rank's endpoint from the rendezvous.</summary>
    public static RingCommunicator Connect(Rendezvous rdv, Socket? listener = null, RingOptions? options = null)
    {
        if (rdv.Backend != Rendezvous.Ring) throw new ArgumentException($"rendezvous is for '{rdv.Backend}', not the ring");
        options ??= RingOptions.Default;
        var own = listener;
        if (own is null && rdv.WorldSize > 1)
        {
            var ep = StandaloneRendezvous.ParseEndpoint(rdv.Endpoints[rdv.Rank], $"ring endpoint of rank {rdv.Rank}");
            own = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            own.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            own.Bind(ep);
            own.Listen(4);
        }
        try
        {
            var links = rdv.WorldSize == 1
                ? RingLinks.Open(rdv.Rank, 1, null!, rdv.Endpoints, options.Connect, options.Operation)
                : RingLinks.Open(rdv.Rank, rdv.WorldSize, own!, rdv.Endpoints, options.Connect, options.Operation);
            return new RingCommunicator(rdv.Rank, rdv.WorldSize, links);
        }
        finally
        {
            own?.Dispose(); // the ring is connected: the listener is no longer needed
        }
    }

    /// <summary>torchrun-style: rendezvous at <paramref name="master"/> (rank 0 hosts it), then join the ring.</summary>
    public static RingCommunicator ConnectStandalone(int rank, int world, string master, RingOptions? options = null, string host = "127.0.0.1")
    {
        options ??= RingOptions.Default;
        var (listener, endpoint) = Listen(host);
        try
        {
            var rdv = StandaloneRendezvous.Exchange(Rendezvous.Ring, rank, world, master, endpoint, null, options.Connect);
            return Connect(rdv.ForRank(rank), listener, options);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    public Task AllReduceAsync(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        var b = TensorBuffer.Of(Host(tensor, "all-reduce"), "all-reduce", reduce: true);
        return Enqueue(() => _algo.AllReduce(b, op));
    }

    public Task ReduceScatterAsync(torch.Tensor input, torch.Tensor output, ReduceOp op = ReduceOp.Sum)
    {
        var o = TensorBuffer.Of(Host(output, "reduce-scatter"), "reduce-scatter output", reduce: true);
        if (input.numel() != o.Count * WorldSize || input.dtype != output.dtype)
            throw new ArgumentException($"reduce-scatter: input must hold WorldSize ({WorldSize}) x output ({o.Count}) elements of {output.dtype}, got {input.numel()} of {input.dtype}");
        // The input stays untouched, as in NCCL. The copy belongs to the comm thread: out of any caller dispose scope.
        using var detached = input.detach(); // held until clone() has run: a caller may have no dispose scope
        var work = detached.clone().DetachFromDisposeScope();
        var w = TensorBuffer.Of(work, "reduce-scatter input", reduce: true);
        return Enqueue(() =>
        {
            try
            {
                _algo.ReduceScatter(w, o.Count);
                unsafe { Buffer.MemoryCopy((void*)(w.Pointer + (nint)(o.Count * Rank * o.ElementSize)), (void*)o.Pointer, o.Bytes, o.Bytes); }
                if (op == ReduceOp.Avg && WorldSize > 1) Reducers.Divide(o.Kind, o.Pointer, o.Count, WorldSize);
            }
            finally { work.Dispose(); }
        });
    }

    public Task AllGatherAsync(torch.Tensor input, torch.Tensor output)
    {
        var i = TensorBuffer.Of(Host(input, "all-gather"), "all-gather input", reduce: false);
        var o = TensorBuffer.Of(output, "all-gather output", reduce: false);
        if (o.Count != i.Count * WorldSize || input.dtype != output.dtype)
            throw new ArgumentException($"all-gather: output must hold WorldSize ({WorldSize}) x input ({i.Count}) elements of {input.dtype}, got {o.Count} of {output.dtype}");
        return Enqueue(() =>
        {
            unsafe { Buffer.MemoryCopy((void*)i.Pointer, (void*)(o.Pointer + (nint)(i.Bytes * Rank)), i.Bytes, i.Bytes); }
            _algo.AllGather(o, i.Count);
        });
    }

    public Task BroadcastAsync(torch.Tensor tensor, int root = 0)
    {
        if (root < 0 || root >= WorldSize) throw new ArgumentOutOfRangeException(nameof(root), $"broadcast root {root} is outside the world of {WorldSize}");
        var b = TensorBuffer.Of(Host(tensor, "broadcast"), "broadcast", reduce: false);
        return Enqueue(() => _algo.Broadcast(b, root));
    }

    public Task BarrierAsync()
    {
        var token = torch.zeros(1).DetachFromDisposeScope();
        var b = TensorBuffer.Of(token, "barrier", reduce: true);
        return Enqueue(() => { try { _algo.AllReduce(b, ReduceOp.Sum); } finally { token.Dispose(); } });
    }

    static torch.Tensor Host(torch.Tensor t, string what) => t.device_type == DeviceType.CPU ? t
        : throw new ArgumentException($"{what}: the ring backend works on CPU tensors, got one on {t.device}; use the NCCL backend for GPUs");

    public void Abort(string reason)
    {
        Fault(new CommunicatorException($"ring rank {Rank}: communicator aborted: {reason}"));
    }

    Task Enqueue(Action work)
    {
        if (_fault is { } f) return Task.FromException(f);
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            _queue.Add(() =>
            {
                if (_fault is { } f2) { tcs.TrySetException(f2); return; }
                try { work(); tcs.TrySetResult(); }
                catch (Exception e)
                {
                    var ce = e as CommunicatorException ?? new CommunicatorException($"ring rank {Rank}: collective failed: {e.Message}", e);
                    Fault(ce);
                    tcs.TrySetException(_fault!);
                }
            });
        }
        catch (InvalidOperationException)
        {
            return Task.FromException(_fault ?? new CommunicatorException($"ring rank {Rank}: the communicator is disposed"));
        }
        return tcs.Task;
    }

    void Fault(CommunicatorException e)
    {
        lock (_queue)
        {
            _fault ??= e;
        }
        _links.Dispose(); // peers blocked on us see EOF now rather than at their timeout
    }

    void Loop()
    {
        foreach (var work in _queue.GetConsumingEnumerable()) work();
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        _thread.Join();
        _fault ??= new CommunicatorException($"ring rank {Rank}: the communicator is disposed");
        _links.Dispose();
        _sender.Dispose();
        _algo.Dispose();
    }
}
