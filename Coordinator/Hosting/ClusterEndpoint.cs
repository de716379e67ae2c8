using System.Net;
using System.Net.Sockets;

namespace Orchestrator.Coordinator.Hosting;

/// <summary>HOST:PORT as users type it (`--coordinator 10.0.0.5:11111`), with clear errors.</summary>
public static class ClusterEndpoint
{
    public static IPEndPoint Parse(string text, int defaultPort, string flag)
    {
        var s = text.Trim();
        int port = defaultPort;
        var colon = s.LastIndexOf(':');
        if (colon > 0)
        {
            if (!int.TryParse(s[(colon + 1)..], out port) || port is < 1 or > 65535)
                throw new ArgumentException($"{flag}: '{text}' has no valid port (expected HOST:PORT, e.g. 127.0.0.1:{defaultPort})");
            s = s[..colon];
        }
        if (s is "" or "localhost") return new IPEndPoint(IPAddress.Loopback, port);
        if (IPAddress.TryParse(s, out var ip)) return new IPEndPoint(ip, port);
        try
        {
            var addr = Dns.GetHostAddresses(s).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
                ?? throw new ArgumentException($"{flag}: host '{s}' has no IPv4 address");
            return new IPEndPoint(addr, port);
        }
        catch (SocketException e)
        {
            throw new ArgumentException($"{flag}: cannot resolve host '{s}' ({e.Message})");
        }
    }
}
