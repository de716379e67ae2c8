namespace Orchestrator.Contracts.Cluster;

/// <summary>
/// A grain call without the cluster's shared token, or with another one, was refused before it ran: nothing it asked
/// for happened. The message names the fix; the CLI maps it to exit 2.
/// </summary>
[GenerateSerializer, Alias("orch.ClusterTokenRefusedException")]
public sealed class ClusterTokenRefusedException(string message) : UnauthorizedAccessException(message)
{
    /// <summary>The one line a refused caller sees.</summary>
    public const string Fix =
        "cluster token missing or wrong: give --token-file FILE or ORCH_CLUSTER_TOKEN (the coordinator printed where its token is)";

    public ClusterTokenRefusedException() : this(Fix) { }
}
