using System.Globalization;

namespace Orchestrator.Sharding.Launch;

/// <summary>
/// The torchrun-style variables a launched rank reads: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT,
/// plus ORCH_BACKEND (ring|nccl). <see cref="Current"/> is null in a process nobody launched as a rank.
/// </summary>
public sealed record RankEnvironment(int Rank, int WorldSize, int LocalRank, string MasterAddr, int MasterPort, string Backend)
{
    public const string RankVar = "RANK", WorldVar = "WORLD_SIZE", LocalRankVar = "LOCAL_RANK",
        AddrVar = "MASTER_ADDR", PortVar = "MASTER_PORT", BackendVar = "ORCH_BACKEND";

    public string Master => $"{MasterAddr}:{MasterPort}";

    public static RankEnvironment? Current => From(Environment.GetEnvironmentVariable);

    public static RankEnvironment? From(Func<string, string?> get)
    {
        var rank = get(RankVar);
        if (string.IsNullOrEmpty(rank)) return null;
        int Int(string name, string? v) => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
            ? n : throw new ArgumentException($"{name}='{v}' is not an integer (set by the launcher: orch train --nproc P)");
        var r = Int(RankVar, rank);
        var w = Int(WorldVar, get(WorldVar) ?? "1");
        if (r < 0 || r >= w) throw new ArgumentException($"RANK={r} is outside WORLD_SIZE={w}");
        return new RankEnvironment(r, w, Int(LocalRankVar, get(LocalRankVar) ?? rank), get(AddrVar) ?? "127.0.0.1",
            Int(PortVar, get(PortVar) ?? "29500"), get(BackendVar) ?? "ring");
    }

    public IReadOnlyDictionary<string, string> ToVariables() => new Dictionary<string, string>
    {
        [RankVar] = Rank.ToString(CultureInfo.InvariantCulture),
        [WorldVar] = WorldSize.ToString(CultureInfo.InvariantCulture),
        [LocalRankVar] = LocalRank.ToString(CultureInfo.InvariantCulture),
        [AddrVar] = MasterAddr,
        [PortVar] = MasterPort.ToString(CultureInfo.InvariantCulture),
        [BackendVar] = Backend,
    };
}
