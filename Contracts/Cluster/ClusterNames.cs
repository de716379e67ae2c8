namespace Orchestrator.Contracts.Cluster;

/// <summary>Names every process of one cluster agrees on.</summary>
public static class ClusterNames
{
    public const string ClusterId = "orch";
    public const string ServiceId = "orchestrator";
    /// <summary>Silo names starting with this are coordinators; control-plane grains live only there.</summary>
    public const string CoordinatorPrefix = "coordinator";
    public const int DefaultSiloPort = 11111;
    public const int DefaultGatewayPort = 30000;
    /// <summary>Grain storage provider name for runs and the scheduler.</summary>
    public const string Storage = "runs";
}
