using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Orchestrator.Sharding.Communication;

/// <summary>
/// torchrun-style bootstrap without a coordinator: rank 0 listens on MASTER_ADDR:MASTER_PORT, every other rank
/// connects and sends its rank and (for the ring) the endpoint it already listens on; rank 0 then builds the
/// <see cref="Rendezvous"/> (making the NCCL unique id itself) and sends it back. The Orleans coordinator replaces
/// this with its own distribution of the same string.
/// </summary>
public static class StandaloneRendezvous
{
    /// <summary>Runs the exchange. For the ring, <paramref name="ringEndpoint"/> is this rank's bound listener ("host:port").</summary>
    public static Rendezvous Exchange(string backend, int rank, int world, string master, string? ringEndpoint,
        Func<byte[]>? makeNcclId, TimeSpan timeout)
    {
        if (world < 1 || rank < 0 || rank >= world)
            throw new ArgumentException($"rank {rank} is outside a world of {world}: RANK must be 0..WORLD_SIZE-1");
        var masterEp = ParseEndpoint(master, "MASTER_ADDR:MASTER_PORT");
        var deadline = DateTime.UtcNow + timeout;
        if (rank == 0) return Host(backend, world, masterEp, ringEndpoint, makeNcclId, deadline);
        return Join(rank, masterEp, ringEndpoint, deadline);
    }

    static Rendezvous Host(string backend, int world, IPEndPoint master, string? ringEndpoint, Func<byte[]>? makeNcclId, DateTime deadline)
    {
        var endpoints = new string[world];
        endpoints[0] = ringEndpoint ?? "";
        var peers = new Socket?[world];
        using var listener = new Socket(master.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(master);
        listener.Listen(world);
        try
        {
            for (var joined = 1; joined < world; joined++)
            {
                var wait = deadline - DateTime.UtcNow;
                if (wait <= TimeSpan.Zero || !listener.Poll((int)Math.Min(wait.TotalMicroseconds, int.MaxValue), SelectMode.SelectRead))
                    throw new CommunicatorException($"rendezvous at {master}: only {joined} of {world} ranks joined before the timeout; " +
                                                    "check that every rank was started with the same MASTER_ADDR/MASTER_PORT and WORLD_SIZE");
                var s = listener.Accept();
                s.ReceiveTimeout = (int)Math.Max(1000, (deadline - DateTime.UtcNow).TotalMilliseconds);
                var (r, ep) = ParseHello(ReadString(s));
                if (r <= 0 || r >= world || peers[r] is not null)
                    throw new CommunicatorException($"rendezvous at {master}: rank {r} joined twice or is outside the world of {world}");
                peers[r] = s;
                endpoints[r] = ep;
            }
            var rdv = backend == Rendezvous.Nccl
                ? new Rendezvous(Rendezvous.Nccl, 0, world, [], (makeNcclId ?? throw new ArgumentNullException(nameof(makeNcclId)))())
                : new Rendezvous(Rendezvous.Ring, 0, world, endpoints, null);
            for (var r = 1; r < world; r++) WriteString(peers[r]!, rdv.ForRank(r).Serialize());
            return rdv;
        }
        finally
        {
            foreach (var p in peers) p?.Dispose();
        }
    }

    static Rendezvous Join(int rank, IPEndPoint master, string? ringEndpoint, DateTime deadline)
    {
        while (true)
        {
            using var s = new Socket(master.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                s.Connect(master);
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50); // rank 0 is not listening yet: it is a process start away
                continue;
            }
            catch (SocketException e)
            {
                throw new CommunicatorException($"rank {rank}: could not reach the rendezvous at {master} ({e.SocketErrorCode}) before the timeout; is rank 0 running?", e);
            }
            s.ReceiveTimeout = (int)Math.Max(1000, (deadline - DateTime.UtcNow).TotalMilliseconds);
            WriteString(s, $"{rank} {ringEndpoint ?? "-"}");
            try
            {
                return Rendezvous.Parse(ReadString(s));
            }
            catch (Exception e) when (e is SocketException or EndOfStreamException)
            {
                throw new CommunicatorException($"rank {rank}: the rendezvous at {master} closed before sending the world (rank 0 failed or timed out)", e);
            }
        }
    }

    public static IPEndPoint ParseEndpoint(string text, string what)
    {
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text[(colon + 1)..], out var port) || port is < 0 or > 65535)
            throw new ArgumentException($"{what} '{text}' is not host:port");
        var host = text[..colon];
        if (host == "localhost") return new IPEndPoint(IPAddress.Loopback, port);
        if (IPAddress.TryParse(host, out var ip)) return new IPEndPoint(ip, port);
        var addrs = Dns.GetHostAddresses(host);
        var v4 = addrs.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addrs.FirstOrDefault()
                 ?? throw new ArgumentException($"{what} '{text}': host '{host}' does not resolve");
        return new IPEndPoint(v4, port);
    }

    static (int Rank, string Endpoint) ParseHello(string s)
    {
        var sp = s.Split(' ', 2);
        return (int.Parse(sp[0]), sp.Length > 1 ? sp[1] : "-");
    }

    static void WriteString(Socket s, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var buf = new byte[4 + bytes.Length];
        BitConverter.TryWriteBytes(buf, bytes.Length);
        bytes.CopyTo(buf, 4);
        s.Send(buf);
    }

    static string ReadString(Socket s)
    {
        var len = new byte[4];
        ReadExactly(s, len);
        var n = BitConverter.ToInt32(len);
        if (n is < 0 or > 1 << 20) throw new InvalidDataException("rendezvous: bad message length");
        var body = new byte[n];
        ReadExactly(s, body);
        return Encoding.UTF8.GetString(body);
    }

    static void ReadExactly(Socket s, Span<byte> buf)
    {
        while (buf.Length > 0)
        {
            var n = s.Receive(buf);
            if (n == 0) throw new EndOfStreamException();
            buf = buf[n..];
        }
    }
}
