using System.Collections.Immutable;
using Orchestrator.Contracts.Cluster;
using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Workers;

namespace Orchestrator.Tests.Coordinator;

/// <summary>
/// Packing runs onto shared devices: by estimated memory, device share and slots, never past a device's budget;
/// runs that can never fit, and bad slots or shares, are refused with the numbers before anything starts.
/// </summary>
public sealed class PackingTests : ClusterTest
{
    static RunSpec Gpt(string name, double? share = null, double dropout = 0) => new()
    {
        Name = name, Trainer = "gpt", Data = "/nonexistent-corpus", Device = "cpu", Batch = 8, Steps = 10, DeviceShare = share,
        Model = new ModelShape { NLayer = 2, NHead = 4, NEmbd = 128, BlockSize = 128, Dropout = dropout },
        Checkpoint = new() { Every = 10, Keep = 2, Path = "/tmp/orch-tests" },
    };

    static long Estimate => RunMemory.Estimate(Gpt("x"), RunMemory.DefaultVocab)!.TotalBytes;

    Task<WorkerInfo> SlotAsync(string process, int slot, int slots, long memory, string deviceKey = "") =>
        Scheduler.RegisterWorkerAsync(new WorkerInfo
        {
            Id = WorkerInfo.SlotId(process, slot, slots), Process = process, Slot = slot, Slots = slots, Device = "cpu",
            DeviceKind = "cpu", MemoryBytes = memory, DeviceKey = deviceKey, ProtocolVersion = ProtocolVersion.Current,
            SiloAddress = "silo-" + process,
        });

    async Task<Dictionary<string, string?>> BusyAsync() =>
        (await Scheduler.ListWorkersAsync()).ToDictionary(w => w.Id, w => w.RunId);

    async Task FinishAsync(string runId, RunAssignment a)
    {
        await RendezvousAllAsync(runId, [a]);
        Assert.Equal(ReportOutcome.Stop, await Run(runId).ReportAsync(Steps(a, 1, 10, finished: true)));
    }

    [Fact]
    public async Task Memory_packs_two_runs_on_a_device_the_third_waits_and_takes_the_freed_room()
    {
        // Room for two estimates and a half: three slots, but only two runs may share the device.
        long memory = (long)Math.Ceiling(2.5 * Estimate / 0.9);
        for (int s = 0; s < 3; s++) await SlotAsync("gpu", s, 3, memory);
        var a = await Scheduler.SubmitRunAsync(Gpt("a"));
        var b = await Scheduler.SubmitRunAsync(Gpt("b"));
        var c = await Scheduler.SubmitRunAsync(Gpt("c"));

        var busy = await BusyAsync();
        Assert.Equal(a.Id, busy["gpu/0"]);
        Assert.Equal(b.Id, busy["gpu/1"]);
        Assert.Null(busy["gpu/2"]);
        Assert.Equal(RunState.Pending, (await Run(c.Id).GetStatusAsync()).State);

        await FinishAsync(a.Id, await Commands.AssignedAsync("gpu/0", a.Id));
        var placed = await Commands.AssignedAsync("gpu/0", c.Id);
        Assert.Equal((c.Id, 0, 1), (placed.RunId, placed.Rank, placed.WorldSize));
        busy = await BusyAsync();
        Assert.Equal([b.Id, c.Id], busy.Values.Where(r => r is not null).Order());
    }

    [Fact]
    public async Task Device_share_caps_runs_per_device_across_processes_and_runs_spread_over_devices_first()
    {
        // Two single-slot processes share device "gpu0" (MPS); a third process has "gpu1" to itself.
        await SlotAsync("p1", 0, 1, 0, "host/gpu0");
        await SlotAsync("p2", 0, 1, 0, "host/gpu0");
        await SlotAsync("p3", 0, 1, 0, "host/gpu1");
        var x = await Scheduler.SubmitRunAsync(Gpt("x", share: 0.6));
        var y = await Scheduler.SubmitRunAsync(Gpt("y", share: 0.6));
        var z = await Scheduler.SubmitRunAsync(Gpt("z", share: 0.6));

        var busy = await BusyAsync();
        // x on the first device, y on the empty second one, z nowhere: 0.6 + 0.6 > 1 on either device.
        Assert.Equal(x.Id, busy["p1"]);
        Assert.Equal(y.Id, busy["p3"]);
        Assert.Null(busy["p2"]);
        Assert.Equal(RunState.Pending, (await Run(z.Id).GetStatusAsync()).State);
    }

    [Fact]
    public async Task A_dropout_run_has_its_process_to_itself()
    {
        for (int s = 0; s < 2; s++) await SlotAsync("w", s, 2, 0);
        var drop = await Scheduler.SubmitRunAsync(Gpt("drop", dropout: 0.1));
        var plain = await Scheduler.SubmitRunAsync(Gpt("plain"));
        var busy = await BusyAsync();
        Assert.Equal(drop.Id, busy["w/0"]);
        Assert.Null(busy["w/1"]);
        Assert.Equal(RunState.Pending, (await Run(plain.Id).GetStatusAsync()).State);
    }

    [Fact]
    public async Task A_run_that_fits_no_device_is_refused_with_the_numbers_and_nothing_starts()
    {
        long small = Estimate; // 90% of it is usable: one estimate never fits
        await SlotAsync("small", 0, 1, small);
        await SlotAsync("smaller", 0, 1, small / 2);
        var e = await Assert.ThrowsAsync<InvalidRunSpecException>(() => Scheduler.SubmitRunAsync(Gpt("huge")));
        Assert.Contains("run 'huge': estimated memory per rank", e.Message);
        Assert.Contains(MemoryEstimate.Gib(Estimate), e.Message);
        Assert.Contains($"the largest, small, has {MemoryEstimate.Gib(small)}", e.Message);
        Assert.Empty(await Scheduler.ListRunsAsync());
        Assert.All(await Scheduler.ListWorkersAsync(), w => Assert.Equal(WorkerState.Idle, w.State));

        // A sweep's check names every run that cannot start (and the light trainer needs no device memory).
        var many = await Assert.ThrowsAsync<InvalidRunSpecException>(() => Scheduler.CheckPlaceableAsync(
            [Gpt("s.r1"), Gpt("s.r2"), Gpt("s.r3") with { Trainer = "light" }]));
        Assert.StartsWith("2 runs cannot start: run 's.r1'", many.Message);
        Assert.Contains("run 's.r2'", many.Message);
        Assert.DoesNotContain("s.r3", many.Message);
    }

    [Fact]
    public async Task Bad_shares_and_slots_are_refused()
    {
        foreach (var share in new[] { 0.0, -0.25, 1.5 })
        {
            var e = await Assert.ThrowsAsync<InvalidRunSpecException>(() => Scheduler.SubmitRunAsync(Gpt("bad", share)));
            Assert.Contains($"device_share: {share} must be in (0, 1]", e.Message);
        }
        var slots = await Assert.ThrowsAsync<ArgumentException>(() => SlotAsync("w", 0, 0, 0));
        Assert.Equal("worker 'w/0': slot 0 of 0 (slots must be at least 1)", slots.Message);
        Assert.Empty(await Scheduler.ListRunsAsync());
        Assert.Empty(await Scheduler.ListWorkersAsync());
    }

    [Fact]
    public async Task Losing_a_process_loses_all_its_slots_and_a_restart_with_fewer_slots_drops_the_rest()
    {
        for (int s = 0; s < 3; s++) await SlotAsync("w", s, 3, 0);
        var run = await Scheduler.SubmitRunAsync(Gpt("r"));
        await Commands.AssignedAsync("w/0", run.Id);
        await Scheduler.WorkerLostAsync("w", "declared dead", "silo-w");
        Assert.All(await Scheduler.ListWorkersAsync(), w => Assert.Equal((WorkerState.Lost, "declared dead"), (w.State, w.Reason)));
        Assert.Equal(RunState.Recovering, (await Run(run.Id).GetStatusAsync()).State);

        await SlotAsync("w", 0, 1, 0);
        var after = (await Scheduler.ListWorkersAsync()).ToDictionary(w => w.Id, w => w.State);
        Assert.Equal(WorkerState.Lost, after["w/1"]);
        Assert.Equal(WorkerState.Lost, after["w/2"]);
        Assert.NotEqual(WorkerState.Lost, after["w"]);
    }

    [Fact]
    public void The_estimate_counts_parameters_activations_and_workspace()
    {
        // 2 x 128, block 128, batch 8, vocab 256, fp32: parameters 12·2·128² + 13·2·128 + 256·128 + 128·128 + 256.
        var e = RunMemory.Estimate(new ModelShape { NLayer = 2, NHead = 4, NEmbd = 128, BlockSize = 128 }, 8, 256, "cpu");
        Assert.Equal(12L * 2 * 128 * 128 + 13 * 2 * 128 + 256 * 128 + 128 * 128 + 256, e.Parameters);
        Assert.Equal(e.Parameters * 16, e.ParameterBytes);
        long tokens = 8 * 128;
        Assert.Equal(2 * (tokens * 128 * 17 * 4 + 3L * 8 * 4 * 128 * 128 * 4) + tokens * 256 * 12 + tokens * 128 * 16, e.ActivationBytes);
        Assert.Equal(64L << 20, e.WorkspaceBytes);
        // CUDA: bf16 compute copies, 16-bit activations without the score term, a larger workspace; gpt2 resolves.
        var g = RunMemory.Estimate(new ModelShape { Preset = "gpt2" }, 12, 50257, "cuda");
        Assert.Equal(12L * 12 * 768 * 768 + 13 * 12 * 768 + 50304L * 768 + 1024 * 768 + 2 * 768, g.Parameters);
        Assert.Equal(g.Parameters * 20, g.ParameterBytes);
        Assert.Equal(256L << 20, g.WorkspaceBytes);
    }
}
