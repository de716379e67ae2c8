using System.Globalization;

namespace Orchestrator.Sharding.Communication;

/// <summary>
/// Everything a rank needs to join a world: its rank, the world size, and the backend's bootstrap (the ring's
/// listening endpoints, one per rank, or NCCL's 128-byte unique id made by rank 0). It travels as one string
/// (<see cref="Serialize"/> / <see cref="Parse"/>) so a coordinator can hand it out without knowing the backends:
/// <c>ring;rank=1;world=3;endpoints=10.0.0.1:29500,10.0.0.2:29500,10.0.0.3:29500</c> or
/// <c>nccl;rank=0;world=2;id=BASE64</c>.
/// </summary>
public sealed record Rendezvous(string Backend, int Rank, int WorldSize, IReadOnlyList<string> Endpoints, byte[]? NcclUniqueId)
{
    public const string Ring = "ring";
    public const string Nccl = "nccl";

    public Rendezvous ForRank(int rank) => this with { Rank = rank };

    public string Serialize() => Backend switch
    {
        Ring => $"ring;rank={Rank};world={WorldSize};endpoints={string.Join(',', Endpoints)}",
        Nccl => $"nccl;rank={Rank};world={WorldSize};id={Convert.ToBase64String(NcclUniqueId ?? [])}",
        _ => throw new InvalidOperationException($"unknown backend '{Backend}'"),
    };

    public override string ToString() => Serialize();

    public static Rendezvous Parse(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        var parts = text.Split(';');
        var backend = parts[0];
        if (backend is not (Ring or Nccl))
            throw new ArgumentException($"rendezvous '{Trim(text)}': backend must be 'ring' or 'nccl', not '{backend}'");
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in parts.Skip(1))
        {
            var eq = p.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"rendezvous '{Trim(text)}': field '{p}' is not key=value");
            fields[p[..eq]] = p[(eq + 1)..];
        }
        var rank = Int(fields, "rank", text);
        var world = Int(fields, "world", text);
        if (world < 1 || rank < 0 || rank >= world)
            throw new ArgumentException($"rendezvous '{Trim(text)}': need 0 <= rank < world, got rank {rank}, world {world}");
        if (backend == Ring)
        {
            var eps = fields.TryGetValue("endpoints", out var e) ? e.Split(',', StringSplitOptions.RemoveEmptyEntries) : [];
            if (eps.Length != world)
                throw new ArgumentException($"rendezvous '{Trim(text)}': {eps.Length} ring endpoints for a world of {world}");
            return new Rendezvous(Ring, rank, world, eps, null);
        }
        var id = fields.TryGetValue("id", out var b64) ? Convert.FromBase64String(b64) : [];
        if (id.Length != Interop.NcclUniqueId.Bytes)
            throw new ArgumentException($"rendezvous '{Trim(text)}': the NCCL unique id must be {Interop.NcclUniqueId.Bytes} bytes, got {id.Length}");
        return new Rendezvous(Nccl, rank, world, [], id);
    }

    static int Int(Dictionary<string, string> f, string key, string text) =>
        f.TryGetValue(key, out var v) && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new ArgumentException($"rendezvous '{Trim(text)}': missing or bad '{key}'");

    static string Trim(string s) => s.Length > 80 ? s[..80] + "..." : s;
}
