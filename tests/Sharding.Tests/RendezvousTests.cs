using Orchestrator.Sharding.Communication;

namespace Orchestrator.Tests.Sharding;

public sealed class RendezvousTests
{
    [Fact]
    public void Ring_rendezvous_round_trips_through_its_string()
    {
        var r = new Rendezvous(Rendezvous.Ring, 1, 3, ["10.0.0.1:29500", "10.0.0.2:29500", "10.0.0.3:29501"], null);
        var s = r.Serialize();
        Assert.Equal("ring;rank=1;world=3;endpoints=10.0.0.1:29500,10.0.0.2:29500,10.0.0.3:29501", s);
        var back = Rendezvous.Parse(s);
        Assert.Equal((r.Backend, r.Rank, r.WorldSize), (back.Backend, back.Rank, back.WorldSize));
        Assert.Equal(r.Endpoints, back.Endpoints);
    }

    [Fact]
    public void Nccl_rendezvous_carries_the_128_byte_unique_id()
    {
        var id = Enumerable.Range(0, 128).Select(i => (byte)i).ToArray();
        var back = Rendezvous.Parse(new Rendezvous(Rendezvous.Nccl, 0, 2, [], id).ForRank(1).Serialize());
        Assert.Equal(1, back.Rank);
        Assert.Equal(id, back.NcclUniqueId);
    }

    [Theory]
    [InlineData("tcp;rank=0;world=1", "backend must be 'ring' or 'nccl'")]
    [InlineData("ring;rank=2;world=2;endpoints=a:1,b:2", "need 0 <= rank < world")]
    [InlineData("ring;rank=0;world=3;endpoints=a:1,b:2", "2 ring endpoints for a world of 3")]
    [InlineData("nccl;rank=0;world=2;id=AAAA", "must be 128 bytes")]
    public void Bad_rendezvous_strings_get_a_clear_error(string text, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => Rendezvous.Parse(text));
        Assert.Contains(expected, e.Message);
    }
}
