using System.Diagnostics;
using System.Collections.Concurrent;
using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Interop;
using Orchestrator.Sharding.Launch;

namespace Orchestrator.Tests.Sharding;

/// <summary>The local launcher with real child processes (/bin/sh), and the NCCL path's behaviour without NCCL.</summary>
public sealed class LauncherTests
{
    [Fact]
    public async Task Each_rank_gets_the_torchrun_variables_and_its_output_is_tagged_with_its_rank()
    {
        var lines = new ConcurrentBag<(int, string)>();
        var r = await LocalLauncher.RunAsync(new LaunchSpec("/bin/sh", ["-c", "echo \"$RANK/$WORLD_SIZE/$LOCAL_RANK/$MASTER_ADDR/$ORCH_BACKEND\""], 3),
            (rank, line, _) => lines.Add((rank, line)));
        Assert.True(r.Succeeded);
        Assert.Equal([0, 0, 0], r.ExitCodes);
        Assert.Equal(["0/3/0/127.0.0.1/ring", "1/3/1/127.0.0.1/ring", "2/3/2/127.0.0.1/ring"],
            lines.OrderBy(l => l.Item1).Select(l => l.Item2).ToArray());
        Assert.All(lines, l => Assert.StartsWith($"{l.Item1}/", l.Item2));
    }

    [Fact]
    public async Task When_a_rank_dies_the_others_are_killed_after_the_grace_period()
    {
        var watch = Stopwatch.StartNew();
        var r = await LocalLauncher.RunAsync(
            new LaunchSpec("/bin/sh", ["-c", "if [ \"$RANK\" = 1 ]; then exit 5; fi; exec sleep 60"], 3) { Grace = TimeSpan.FromSeconds(1) },
            (_, _, _) => { });
        Assert.False(r.Succeeded);
        Assert.Equal(1, r.FirstFailedRank);
        Assert.Equal(5, r.ExitCodes[1]);
        Assert.NotEqual(0, r.ExitCodes[0]);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"the survivors were not stopped ({watch.Elapsed})");
    }

    [Fact]
    public void Rank_environment_rejects_a_rank_outside_the_world()
    {
        var vars = new Dictionary<string, string> { ["RANK"] = "4", ["WORLD_SIZE"] = "4" };
        var e = Assert.Throws<ArgumentException>(() => RankEnvironment.From(k => vars.GetValueOrDefault(k)));
        Assert.Contains("RANK=4 is outside WORLD_SIZE=4", e.Message);
        Assert.Null(RankEnvironment.From(_ => null));
    }

    [Fact]
    public void Without_libnccl_making_an_nccl_id_fails_with_what_to_set()
    {
        var saved = Environment.GetEnvironmentVariable("ORCH_NCCL");
        try
        {
            Environment.SetEnvironmentVariable("ORCH_NCCL", "/nonexistent/libnccl.so.2");
            var e = Record.Exception(() => NcclCommunicator.MakeUniqueId());
            if (e is null) return; // a machine with NCCL installed: nothing to check here
            var ce = Assert.IsType<CommunicatorException>(e);
            Assert.Contains("ORCH_NCCL", ce.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("ORCH_NCCL", saved);
        }
    }

    [Fact]
    public unsafe void The_nccl_unique_id_is_128_bytes_as_in_nccl_h()
    {
        Assert.Equal(128, sizeof(NcclUniqueId));
        var bytes = Enumerable.Range(0, 128).Select(i => (byte)(i * 3)).ToArray();
        Assert.Equal(bytes, NcclUniqueId.From(bytes).ToArray());
    }
}
