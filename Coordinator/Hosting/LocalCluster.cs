using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Orchestrator.Coordinator.Hosting;

/// <summary>
/// `orch local`: a coordinator and N workers as separate processes of this same program, their output prefixed
/// with their name. Stopping sends SIGTERM to every child (graceful silo shutdown), then SIGKILL after a grace period.
/// </summary>
public sealed partial class LocalCluster : IAsyncDisposable
{
    readonly List<(string Name, Process Process)> children = [];
    readonly string self;
    readonly string[] selfPrefix;

    public LocalCluster()
    {
        // Under `dotnet orch.dll` the process is the dotnet host: run the dll again; an apphost runs itself.
        var host = Environment.ProcessPath ?? "dotnet";
        var dll = System.Reflection.Assembly.GetEntryAssembly()!.Location;
        bool viaDotnet = Path.GetFileNameWithoutExtension(host) == "dotnet";
        self = host;
        selfPrefix = viaDotnet ? [dll] : [];
    }

    public IReadOnlyList<(string Name, Process Process)> Children => children;

    public Process Start(string name, params string[] args)
    {
        var psi = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in selfPrefix.Concat(args)) psi.ArgumentList.Add(a);
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {name}");
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) Console.Out.WriteLine($"[{name}] {e.Data}"); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[{name}] {e.Data}"); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        children.Add((name, p));
        return p;
    }

    /// <summary>Waits until something accepts TCP connections at the endpoint (the coordinator's gateway is up).</summary>
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

    public static async Task<bool> CanConnectAsync(IPEndPoint endpoint, CancellationToken ct)
    {
        using var c = new TcpClient();
        try
        {
            await c.ConnectAsync(endpoint, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(2), ct);
            return true;
        }
        catch (Exception e) when (e is SocketException or TimeoutException) { return false; }
    }

    /// <summary>SIGTERM every child (workers first, coordinator last), wait, then SIGKILL what is left.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        foreach (var (_, p) in children.AsEnumerable().Reverse())
            if (!p.HasExited) _ = Kill(p.Id, 15);
        var deadline = DateTime.UtcNow + grace;
        foreach (var (_, p) in children)
        {
            var left = deadline - DateTime.UtcNow;
            if (left > TimeSpan.Zero)
            {
                using var cts = new CancellationTokenSource(left);
                try { await p.WaitForExitAsync(cts.Token); } catch (OperationCanceledException) { }
            }
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(10));
        foreach (var (_, p) in children) p.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
