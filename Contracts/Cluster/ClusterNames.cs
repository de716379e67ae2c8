namespace Orchestrator.Contracts.Cluster;

/// <summary>Names every process of one cluster agrees on.</summary>
public static class ClusterNames
{
    /// <summary>The cluster id of `orch coordinator` and `orch worker` when none is given (Kubernetes, Redis mode).</summary>
    public const string ClusterId = "orch";
    /// <summary>The name (and cluster id) of `orch local` when none is given.</summary>
    public const string LocalClusterName = "local";
    public const string ServiceId = "orchestrator";
    /// <summary>Silo names starting with this are coordinators; control-plane grains live only there.</summary>
    public const string CoordinatorPrefix = "coordinator";
    public const int DefaultSiloPort = 11111;
    public const int DefaultGatewayPort = 30000;
    /// <summary>Grain storage provider name for runs and the scheduler.</summary>
    public const string Storage = "runs";

    /// <summary>A cluster id is a name: 1..40 of a-z, 0-9, '-', '_', '.', starting with a letter or digit (it names a folder too).</summary>
    public static bool IsValidClusterId(string id) =>
        id.Length is >= 1 and <= 40 && char.IsAsciiLetterOrDigit(id[0]) && id.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_' or '.');
}
