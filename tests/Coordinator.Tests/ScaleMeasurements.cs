using System.Diagnostics;
using Orchestrator.Contracts.Runs;
using Xunit.Abstractions;

namespace Orchestrator.Tests.Coordinator;

/// <summary>
/// How the control plane holds up with many workers (docs/benchmarks/coordinator.md): registration latency,
/// a 64- and 256-rank rendezvous, status reads, and the cost of one progress report (the per-step overhead).
/// Workers are fake grains; calls go client -> gateway -> grain over loopback TCP like a console's.
/// </summary>
public sealed class ScaleMeasurements(ITestOutputHelper output) : ClusterTest
{
    [Theory]
    [InlineData(64)]
    [InlineData(256)]
    public async Task Registration_rendezvous_status_and_report_latency(int workers)
    {
        var register = new List<double>();
        for (int i = 0; i < workers; i++)
        {
            var sw = Stopwatch.StartNew();
            await RegisterAsync($"w{i:D3}");
            register.Add(sw.Elapsed.TotalMilliseconds);
        }
        var id = (await Scheduler.SubmitRunAsync(Spec("scale", workers, workers, 1000, 100))).Id;
        var ranks = new RunAssignment[workers];
        for (int i = 0; i < workers; i++) ranks[i] = await Commands.AssignmentAsync($"w{i:D3}", 1);
        var rdv = Stopwatch.StartNew();
        var replies = await Task.WhenAll(ranks.Select(a => Run(id).RendezvousAsync(new RendezvousRequest(a.Members[a.Rank], 1, a.Rank, $"h:{a.Rank}"))));
        double rendezvousMs = rdv.Elapsed.TotalMilliseconds;
        Assert.Equal(workers, replies.Count(r => r.Outcome != RendezvousOutcome.Stale));

        var status = new List<double>();
        for (int i = 0; i < 200; i++)
        {
            var sw = Stopwatch.StartNew();
            Assert.Equal(workers, (await Run(id).GetStatusAsync()).WorldSize);
            status.Add(sw.Elapsed.TotalMilliseconds);
        }
        // One batched report per rank per second is the steady-state load; time one (rank 0, 20 steps).
        var report = new List<double>();
        for (int i = 0; i < 200; i++)
        {
            var sw = Stopwatch.StartNew();
            Assert.Equal(ReportOutcome.Continue, await Run(id).ReportAsync(Steps(ranks[0], 20 * i + 1, 20 * i + 20)));
            report.Add(sw.Elapsed.TotalMilliseconds);
        }
        // All ranks reporting at once (the load of one second of a 'workers'-rank run).
        var burst = Stopwatch.StartNew();
        await Task.WhenAll(ranks.Skip(1).Select(a => Run(id).ReportAsync(Steps(a, 1, 1) with { Steps = [] })));
        double burstMs = burst.Elapsed.TotalMilliseconds;

        output.WriteLine($"workers={workers} register mean {register.Average():F2} ms p99 {P99(register):F2} ms; " +
            $"rendezvous of all ranks {rendezvousMs:F0} ms; status mean {status.Average():F2} ms p99 {P99(status):F2} ms; " +
            $"report (20 steps) mean {report.Average():F2} ms p99 {P99(report):F2} ms; {workers - 1} concurrent reports {burstMs:F0} ms");
        Assert.True(status.Average() < 100, "status reads should take milliseconds");
    }

    static double P99(List<double> xs) => xs.Order().ElementAt((int)Math.Ceiling(xs.Count * 0.99) - 1);
}
