using System.CommandLine;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Coordinator.Hosting;

namespace Orchestrator.Cli.Hosting;

/// <summary>
/// Where each process finds its cluster's token, first match wins: `--token-file FILE`, $ORCH_CLUSTER_TOKEN, (consoles)
/// the file an `orch local` connection file names, then the cluster's default file STATE/clusters/CLUSTER/token. A
/// coordinator with none of them generates a token into that default file (mode 0600) and keeps it across restarts,
/// so every process of one user on one machine finds it without flags; elsewhere, copy the file and pass --token-file.
/// Invariant: the token itself is never printed; only the file's path is.
/// </summary>
public static class ClusterTokens
{
    public static readonly Option<string?> TokenFile = new("--token-file")
    {
        Description = "File holding the cluster token (one line); default $ORCH_CLUSTER_TOKEN, else the file the coordinator wrote (STATE/clusters/CLUSTER/token)",
    };

    /// <summary>The coordinator's token and where it is, as its `coordinator up` line says it (never the token).</summary>
    public static (ClusterToken Token, string Where) ForCoordinator(string? file, string clusterId)
    {
        if (file is not null) return (ClusterToken.ReadFile(file, "--token-file"), $"token file {Path.GetFullPath(file)}");
        if (FromEnvironment() is { } env) return (env, $"token from ${ClusterToken.Variable}");
        var path = LocalClusters.TokenFileOf(clusterId);
        var (token, created) = ClusterToken.ReadOrCreate(path);
        return (token, $"token file {path}{(created ? " (new)" : "")}");
    }

    /// <summary>
    /// A worker's token, read at each join (a worker may start before its coordinator writes the default file, and
    /// a restarted coordinator may have a new one). A --token-file or variable that is not a token fails at once.
    /// </summary>
    public static Func<ClusterToken> ForWorker(string? file, string clusterId)
    {
        if (file is not null)
        {
            ClusterToken.ReadFile(file, "--token-file");
            return () => ClusterToken.ReadFile(file, "--token-file");
        }
        if (FromEnvironment() is { } env) return () => env;
        var path = LocalClusters.TokenFileOf(clusterId);
        return () => File.Exists(path) ? ClusterToken.ReadFile(path, "the cluster token file")
            : throw new BadInputException($"no cluster token for cluster '{clusterId}' (no {path}): give --token-file FILE or {ClusterToken.Variable} (the coordinator printed where its token is)");
    }

    /// <summary>A console's token; null when there is none (then every call is refused with the message naming the fix).</summary>
    public static ClusterToken? ForConsole(string? file, string clusterId, string? connectionFileToken)
    {
        if (file is not null) return ClusterToken.ReadFile(file, "--token-file");
        if (FromEnvironment() is { } env) return env;
        if (connectionFileToken is not null && File.Exists(connectionFileToken)) return ClusterToken.ReadFile(connectionFileToken, "the connection file's token file");
        var path = LocalClusters.TokenFileOf(clusterId);
        return File.Exists(path) ? ClusterToken.ReadFile(path, "the cluster token file") : null;
    }

    static ClusterToken? FromEnvironment() =>
        Environment.GetEnvironmentVariable(ClusterToken.Variable) is { Length: > 0 } text ? ClusterToken.Parse(text, $"${ClusterToken.Variable}") : null;
}
