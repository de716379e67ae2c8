using System.Net;
using System.Net.Sockets;

namespace Orchestrator.Sharding.Launch;

/// <summary>
/// Ports on this machine, for processes started here: a free one to hand a child, and waiting until a child listens.
/// A free port is free when asked, not reserved: a child that binds it later can lose it to another process, so
/// callers that can pass 0 to the listener itself should.
/// </summary>
public static class LocalPorts
{
    /// <summary>A TCP port free right now on loopback (the OS picks it).</summary>
    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Whether something accepts TCP connections at the endpoint (2 s at most).</summary>
    public static async Task<bool> CanConnectAsync(IPEndPoint endpoint, CancellationToken ct = default)
    {
        using var c = new TcpClient();
        try
        {
            await c.ConnectAsync(endpoint, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(2), ct);
            return true;
        }
        catch (Exception e) when (e is SocketException or TimeoutException) { return false; }
    }

    /// <summary>Waits until something accepts connections at the endpoint; false on timeout or once <paramref name="stillAlive"/> is false.</summary>
    public static async Task<bool> WaitForPortAsync(IPEndPoint endpoint, TimeSpan timeout, Func<bool> stillAlive, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && stillAlive())
        {
            if (await CanConnectAsync(endpoint, ct)) return true;
            await Task.Delay(100, ct);
        }
        return false;
    }
}
