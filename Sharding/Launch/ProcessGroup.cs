using System.Diagnostics;
using Orchestrator.Sharding.Interop;

namespace Orchestrator.Sharding.Launch;

/// <summary>
/// The one supervisor of child processes (`orch local`'s coordinator and workers, quickstart's cluster, `--nproc`
/// ranks): starts them with their output handed line by line to a sink, and stops them. Its invariant is that
/// nothing it started outlives it: <see cref="StopAsync"/> asks every child to stop (SIGTERM, newest first, so
/// workers leave before their coordinator) and kills what is left after the grace period with its whole process
/// tree; dispose does the same. Output callbacks run on thread-pool threads and may arrive until a child has exited.
/// </summary>
public sealed class ProcessGroup : IAsyncDisposable
{
    readonly List<(string Name, Process Process)> _children = [];
    readonly Lock _gate = new();

    public IReadOnlyList<(string Name, Process Process)> Children { get { lock (_gate) return [.. _children]; } }

    /// <summary>The command line that runs this program again (its apphost, or `dotnet app.dll`).</summary>
    public static (string FileName, List<string> Prefix) Self()
    {
        var path = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find this process' executable");
        return Path.GetFileNameWithoutExtension(path) == "dotnet"
            ? (path, [System.Reflection.Assembly.GetEntryAssembly()?.Location ?? Environment.GetCommandLineArgs()[0]])
            : (path, []);
    }

    /// <summary>Starts <paramref name="fileName"/>; each output line goes to <paramref name="onLine"/> (text, true for stderr).</summary>
    public Process Start(string name, string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment,
        Action<string, bool> onLine)
    {
        var psi = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        if (environment is not null) foreach (var (k, v) in environment) psi.Environment[k] = v;
        var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) onLine(e.Data, false); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) onLine(e.Data, true); };
        try { p.Start(); }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception)
        {
            p.Dispose();
            throw new InvalidOperationException($"could not start {name} ({fileName}): {e.Message}", e);
        }
        lock (_gate) _children.Add((name, p));
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>Runs this program again with <paramref name="arguments"/>; output defaults to this console, prefixed "[name] ".</summary>
    public Process StartSelf(string name, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null,
        Action<string, bool>? onLine = null)
    {
        var (file, prefix) = Self();
        onLine ??= (line, err) => (err ? Console.Error : Console.Out).WriteLine($"[{name}] {line}");
        return Start(name, file, prefix.Concat(arguments), environment, onLine);
    }

    /// <summary>SIGTERM to every running child (newest first), then, after <paramref name="grace"/>, SIGKILL to what is left; returns when all have exited.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        var children = Children;
        foreach (var (_, p) in children.AsEnumerable().Reverse())
            if (!HasExited(p)) PosixSignals.Terminate(p.Id);
        var deadline = DateTime.UtcNow + grace;
        foreach (var (_, p) in children)
        {
            var left = deadline - DateTime.UtcNow;
            if (left > TimeSpan.Zero)
            {
                using var cts = new CancellationTokenSource(left);
                try { await p.WaitForExitAsync(cts.Token); } catch (OperationCanceledException) { }
            }
            Kill(p);
            await p.WaitForExitAsync(); // drains the output callbacks
        }
    }

    /// <summary>SIGKILL to every running child and its process tree, at once.</summary>
    public void KillAll()
    {
        foreach (var (_, p) in Children) Kill(p);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(10));
        foreach (var (_, p) in Children) p.Dispose();
    }

    static void Kill(Process p)
    {
        try { if (!p.HasExited) p.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { } // exited meanwhile
    }

    static bool HasExited(Process p)
    {
        try { return p.HasExited; }
        catch (InvalidOperationException) { return true; }
    }
}
