using System.Net;

namespace Orchestrator.Dashboard.Web;

/// <summary>
/// Where the dashboard listens and who may read it. Loopback by default; any other address must come with a token
/// (checked on every request), since the pages show paths, hosts and process ids of the cluster.
/// </summary>
public sealed record DashboardOptions
{
    public const int DefaultPort = 9470;
    /// <summary>Longest token accepted (and shortest: a guessable token is no token).</summary>
    public const int MaxTokenLength = 4096, MinTokenLength = 16;

    /// <summary>0: no dashboard.</summary>
    public int Port { get; init; } = DefaultPort;
    public IPAddress Bind { get; init; } = IPAddress.Loopback;
    public string? Token { get; init; }

    public bool Enabled => Port > 0;

    /// <summary>The address to open (the bind address, or 127.0.0.1 for a wildcard bind).</summary>
    public string Url
    {
        get
        {
            var host = Bind.Equals(IPAddress.Any) || Bind.Equals(IPAddress.IPv6Any) ? IPAddress.Loopback : Bind;
            return $"http://{(host.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{host}]" : host.ToString())}:{Port}/";
        }
    }

    /// <summary>
    /// Reads the flags' values; throws ArgumentException (exit 2) for a port out of range, an address that is not one,
    /// a non-loopback bind without a token, or an unreadable / too short token file.
    /// </summary>
    public static DashboardOptions Parse(int port, string? bind, string? token, string? tokenFile)
    {
        if (port is < 0 or > 65535) throw new ArgumentException($"--web-port: {port} is not 0..65535 (0 turns the dashboard off)");
        var address = IPAddress.Loopback;
        if (bind is not null && !IPAddress.TryParse(bind, out address!))
            throw new ArgumentException($"--web-bind: '{bind}' is not an IP address (e.g. 127.0.0.1, or 0.0.0.0 with --web-token)");
        if (token is not null && tokenFile is not null) throw new ArgumentException("give --web-token or --web-token-file, not both");
        if (tokenFile is not null)
        {
            if (!File.Exists(tokenFile)) throw new FileNotFoundException($"--web-token-file: '{tokenFile}' does not exist", tokenFile);
            if (new FileInfo(tokenFile).Length > MaxTokenLength) throw new ArgumentException($"--web-token-file: '{tokenFile}' is over {MaxTokenLength} bytes (a token is one line)");
            token = File.ReadAllText(tokenFile).Trim();
            if (token.Length == 0) throw new ArgumentException($"--web-token-file: '{tokenFile}' is empty");
        }
        if (token is not null)
        {
            if (token.Length is < MinTokenLength or > MaxTokenLength || token.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
                throw new ArgumentException($"--web-token: a token is {MinTokenLength}..{MaxTokenLength} characters without spaces (e.g. `openssl rand -hex 24`)");
        }
        if (port > 0 && !IPAddress.IsLoopback(address) && token is null)
            throw new ArgumentException($"--web-bind {address} is reachable from other machines: give --web-token or --web-token-file (or bind 127.0.0.1)");
        return new DashboardOptions { Port = port, Bind = address, Token = token };
    }
}
