using System.Collections.Concurrent;
using System.Diagnostics;

namespace Orchestrator.Tests.K8s.Support;

/// <summary>
/// Renders a kustomization with `kubectl kustomize DIR` (a real process: the same kustomize users run).
/// ORCH_KUBECTL picks another kubectl, e.g. Debian's 1.20 with its old embedded kustomize. Results are cached per
/// folder: each test class reads the same rendering.
/// </summary>
static class Kustomize
{
    static readonly ConcurrentDictionary<string, Lazy<string>> Cache = new();

    public static string Kubectl => Environment.GetEnvironmentVariable("ORCH_KUBECTL") is { Length: > 0 } k ? k : "kubectl";

    public static string Render(string relativeDir) =>
        Cache.GetOrAdd(relativeDir, d => new Lazy<string>(() => Run(RepoRoot.Combine(d)))).Value;

    static string Run(string dir)
    {
        var psi = new ProcessStartInfo(Kubectl)
        {
            ArgumentList = { "kustomize", dir },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {Kubectl}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException(
                $"cannot run '{Kubectl}' ({e.Message}): install kubectl (scripts/setup.sh installs Debian's kubernetes-client) or set ORCH_KUBECTL", e);
        }
        using var _ = p;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{Kubectl} kustomize {dir} exited {p.ExitCode}: {stderr.Result}");
        return stdout;
    }
}
