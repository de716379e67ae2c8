using System.Collections.Immutable;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;
using Orchestrator.Experiments.Search;

namespace Orchestrator.Tests.Experiments.Search;

/// <summary>ASHA's stopping rule against a schedule computed by hand on a deterministic fake objective.</summary>
public sealed class AshaTests
{
    // Loss of trial t at rung k (a fixed table: the fake objective). Rungs at 1000 and 3000 tokens, η = 3.
    static readonly double[][] Objective =
    [
        [5, 3, 4, 1, 6, 2, 8, 0.5, 7],
        [4.5, 2.5, 9, 0.8, 9, 1.5, 9, 0.4, 9],
    ];

    static SweepSpec Spec() => new()
    {
        Name = "asha", Models = [new ModelShape { NLayer = 1, NHead = 1, NEmbd = 16, BlockSize = 10 }], Batch = 10,
        Search = new SearchSpec { Method = "grid", Tokens = 10_000, EarlyStop = new AshaSpec { Rungs = [1000, 3000], ReductionFactor = 3 } },
    };

    [Fact]
    public void Promotions_and_stops_match_the_hand_computed_schedule()
    {
        var spec = Spec();
        var model = spec.Models[0];
        var runs = Enumerable.Range(0, 9).Select(t => new SweepRunStatus
        {
            Plan = new PlannedRun($"t{t}", model, 3072, 10_000, 100, 1e-3, 1, null, Trial: new TrialConfig(t, 1e-3, 0, null, null, 10)),
            State = RunState.Running,
        }).ToList();
        var stops = new Dictionary<int, long>();

        // Trials reach each rung in index order; a stopped trial reaches no later rung. 100 tokens per step: rung 0
        // is step 10, rung 1 step 30.
        for (int k = 0; k < 2; k++)
        {
            for (int t = 0; t < 9; t++)
            {
                if (stops.ContainsKey(t)) continue;
                var history = ImmutableArray.Create(new MetricPoint(k == 0 ? 10 : 30, Objective[k][t], 1, null, DateTimeOffset.UnixEpoch));
                var (losses, stopAt) = Asha.Advance(spec, runs, t, new RunStatus { State = RunState.Running, History = history });
                runs[t] = runs[t] with { RungLosses = losses };
                Assert.Equal(k + 1, losses.Length);
                if (stopAt is { } at) stops[t] = at;
            }
        }

        // By hand (n losses at the rung so far, the trial goes on iff fewer than max(1, n/3) earlier ones are <= it):
        // rung 0: t0 n=1 on; t1 n=2 on (5 > 3); t2 n=3 keep 1, 3 <= 4: stop; t3 n=4 on; t4 n=5: stop; t5 n=6 keep 2,
        //         only 1 <= 2: on; t6 n=7: stop; t7 n=8 on; t8 n=9 keep 3, seven <= 7: stop.
        // rung 1 (t0 t1 t3 t5 t7): t0 on; t1 n=2 on; t3 n=3 on; t5 n=4 keep 1, 0.8 <= 1.5: stop; t7 n=5 on.
        Assert.Equal(new Dictionary<int, long> { [2] = 1000, [4] = 1000, [6] = 1000, [8] = 1000, [5] = 3000 }, stops);
    }

    [Fact]
    public void A_completed_trial_is_recorded_but_never_stopped_and_the_rule_checks_its_factor()
    {
        var spec = Spec();
        var model = spec.Models[0];
        var runs = Enumerable.Range(0, 2).Select(t => new SweepRunStatus
        {
            Plan = new PlannedRun($"t{t}", model, 3072, 10_000, 100, 1e-3, 1, null, Trial: new TrialConfig(t, 1e-3, 0, null, null, 10)),
            RungLosses = t == 0 ? [1.0] : [],
        }).ToList();
        var history = ImmutableArray.Create(new MetricPoint(100, 2.0, 1, null, DateTimeOffset.UnixEpoch));
        var (losses, stopAt) = Asha.Advance(spec, runs, 1, new RunStatus { State = RunState.Completed, History = history });
        Assert.Equal([2.0, 2.0], losses.ToArray());
        Assert.Null(stopAt);
        Assert.False(Asha.Continues(2.0, [1.0, 0.5], 3));
        Assert.True(Asha.Continues(0.1, [1.0, 0.5], 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Asha.Continues(1, [], 1));
    }
}
