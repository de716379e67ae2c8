using System.Net;
using System.Net.Sockets;
using Orchestrator.Sharding.Communication;

namespace Orchestrator.Sharding.Ring;

/// <summary>
/// The two sockets of one rank in the ring: it sends to rank+1 and receives from rank-1. Every blocking call is
/// bounded by the operation timeout, and EOF or a reset becomes a <see cref="CommunicatorException"/> that names
/// the peer, so a dead rank makes its neighbours fail, whose aborts make theirs fail: the whole ring fails fast.
/// </summary>
sealed unsafe class RingLinks : IDisposable
{
    const int Magic = 0x52494E47; // "RING"
    readonly Socket? _next, _prev;
    readonly int _rank;
    public int NextRank { get; }
    public int PrevRank { get; }
    public TimeSpan Timeout { get; }

    RingLinks(int rank, int next, int prev, Socket? nextSocket, Socket? prevSocket, TimeSpan timeout)
    {
        _rank = rank; NextRank = next; PrevRank = prev; _next = nextSocket; _prev = prevSocket; Timeout = timeout;
    }

    /// <summary>Connects to the next rank's endpoint and accepts the previous rank on <paramref name="listener"/>.</summary>
    public static RingLinks Open(int rank, int world, Socket listener, IReadOnlyList<string> endpoints, TimeSpan connectTimeout, TimeSpan opTimeout)
    {
        var next = (rank + 1) % world;
        var prev = (rank - 1 + world) % world;
        if (world == 1) return new RingLinks(rank, 0, 0, null, null, opTimeout);
        var deadline = DateTime.UtcNow + connectTimeout;
        // Accept and connect at once: with two ranks each is the other's next and prev.
        var accept = Task.Run(() => AcceptPrev(rank, prev, listener, deadline));
        Socket? nextSocket = null;
        try
        {
            nextSocket = ConnectNext(rank, next, StandaloneRendezvous.ParseEndpoint(endpoints[next], $"ring endpoint of rank {next}"), deadline);
            var prevSocket = accept.GetAwaiter().GetResult();
            foreach (var s in new[] { nextSocket, prevSocket })
            {
                s.NoDelay = true;
                s.SendBufferSize = 4 << 20;
                s.ReceiveBufferSize = 4 << 20;
                s.SendTimeout = s.ReceiveTimeout = (int)opTimeout.TotalMilliseconds;
            }
            return new RingLinks(rank, next, prev, nextSocket, prevSocket, opTimeout);
        }
        catch
        {
            nextSocket?.Dispose();
            throw;
        }
    }

    static Socket ConnectNext(int rank, int next, IPEndPoint ep, DateTime deadline)
    {
        while (true)
        {
            var s = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                s.Connect(ep);
                Span<int> hello = [Magic, rank];
                s.Send(System.Runtime.InteropServices.MemoryMarshal.AsBytes(hello));
                return s;
            }
            catch (SocketException e)
            {
                s.Dispose();
                if (DateTime.UtcNow >= deadline)
                    throw new CommunicatorException($"ring rank {rank}: could not connect to rank {next} at {ep} ({e.SocketErrorCode}) before the timeout", e);
                Thread.Sleep(20);
            }
        }
    }

    static Socket AcceptPrev(int rank, int prev, Socket listener, DateTime deadline)
    {
        var wait = deadline - DateTime.UtcNow;
        if (wait <= TimeSpan.Zero || !listener.Poll((int)Math.Min(wait.TotalMicroseconds, int.MaxValue), SelectMode.SelectRead))
            throw new CommunicatorException($"ring rank {rank}: rank {prev} did not connect before the timeout");
        var s = listener.Accept();
        s.ReceiveTimeout = 10_000;
        Span<int> hello = stackalloc int[2];
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(hello);
        var got = 0;
        while (got < bytes.Length)
        {
            var n = s.Receive(bytes[got..]);
            if (n == 0) break;
            got += n;
        }
        if (got != 8 || hello[0] != Magic || hello[1] != prev)
        {
            s.Dispose();
            throw new CommunicatorException($"ring rank {rank}: expected rank {prev} to connect, got a bad handshake (rank {hello[1]}); check the endpoints");
        }
        return s;
    }

    public void Send(nint ptr, long bytes, string op)
    {
        try
        {
            while (bytes > 0)
            {
                var n = _next!.Send(new ReadOnlySpan<byte>((void*)ptr, (int)Math.Min(bytes, 1 << 30)));
                ptr += n;
                bytes -= n;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            throw Fail(NextRank, "sending to", op, e);
        }
    }

    public void Receive(nint ptr, long bytes, string op)
    {
        try
        {
            while (bytes > 0)
            {
                var n = _prev!.Receive(new Span<byte>((void*)ptr, (int)Math.Min(bytes, 1 << 30)));
                if (n == 0)
                    throw new CommunicatorException($"ring rank {_rank}: rank {PrevRank} closed the connection during {op} (the process died or aborted)");
                ptr += n;
                bytes -= n;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            throw Fail(PrevRank, "receiving from", op, e);
        }
    }

    CommunicatorException Fail(int peer, string verb, string op, Exception e) => e switch
    {
        SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.WouldBlock } =>
            new CommunicatorException($"ring rank {_rank}: {op} timed out after {Timeout.TotalSeconds:0.#} s {verb} rank {peer} (it is hung or dead)", e),
        SocketException s =>
            new CommunicatorException($"ring rank {_rank}: rank {peer} dropped the connection during {op} ({s.SocketErrorCode}: the process died or aborted)", e),
        _ => new CommunicatorException($"ring rank {_rank}: the communicator was aborted during {op}", e),
    };

    public void Dispose()
    {
        foreach (var s in new[] { _next, _prev })
        {
            if (s is null) continue;
            try { s.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
            s.Dispose();
        }
    }
}
