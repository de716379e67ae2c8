using Orchestrator.Cli.Hosting;

namespace Orchestrator.Tests.Foundation;

/// <summary>Run and sweep ids given whole, by a unique prefix or by name; ambiguity is an error listing the matches.</summary>
public sealed class IdResolverTests
{
    static readonly (string Id, string Name)[] Runs =
        [("tiny-1a2b3c", "tiny"), ("tiny-1a9f00", "tiny"), ("wide-77aa01", "wide"), ("w", "short")];

    [Theory]
    [InlineData("tiny-1a2b3c", "tiny-1a2b3c")] // whole
    [InlineData("tiny-1a2", "tiny-1a2b3c")]    // unique prefix
    [InlineData("wide", "wide-77aa01")]        // prefix of one id (and its name)
    [InlineData("w", "w")]                     // a whole id wins over the prefix of others
    [InlineData("short", "w")]                 // name
    public void Resolves(string given, string id) => Assert.Equal(id, IdResolver.Resolve(given, Runs, "run"));

    [Theory]
    [InlineData("tiny-1a", "run 'tiny-1a' is ambiguous: it begins 2 ids (tiny-1a2b3c, tiny-1a9f00); give more of the id")]
    [InlineData("t", "run 't' is ambiguous: it begins 2 ids (tiny-1a2b3c, tiny-1a9f00); give more of the id")]
    [InlineData("nope", "no run 'nope' (`orch run list` shows the runs)")]
    public void Refuses(string given, string message) =>
        Assert.Equal(message, Assert.Throws<BadInputException>(() => IdResolver.Resolve(given, Runs, "run")).Message);

    [Fact]
    public void A_name_two_runs_carry_is_refused_with_their_ids()
    {
        (string, string)[] twins = [("a-1", "same"), ("b-2", "same")];
        Assert.Equal("run name 'same' is ambiguous: 2 ids (a-1, b-2) carry it; give the id",
            Assert.Throws<BadInputException>(() => IdResolver.Resolve("same", twins, "run")).Message);
    }
}
