using System.Collections.Immutable;
using System.Globalization;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Experiments.Planning;

/// <summary>
/// Plans a branching WSD sweep (Hägele et al. 2024): for each model and seed, one trunk trained at the stable LR
/// (constant schedule after warmup) up to the latest cooldown start, keeping a checkpoint at every budget's cooldown
/// start S_i = steps_i − round(f·steps_i); and for each budget one branch that starts from the trunk's checkpoint of
/// S_i and runs the WSD cooldown to steps_i. Invariant: a branch sees, step for step, the LR a WSD run from scratch
/// to steps_i would (same warmup W for the trunk and all its branches, same cooldown arithmetic as the trainer:
/// <see cref="LrScheduleSpec.CooldownStart"/>), so its final loss is that run's. Token budgets and FLOP budgets
/// (D = C / 6N) plan alike; the grid's points and keys are those of the same sweep trained from scratch.
/// </summary>
public static class BranchPlanner
{
    public static IReadOnlyList<PlannedRun> Plan(SweepSpec spec)
    {
        if (spec.Schedule != LrScheduleSpec.Wsd)
            throw new ArgumentException($"branching: true needs schedule: wsd (branches fork the cooldowns of a stable-LR trunk), not {spec.Schedule}");
        var runs = new List<PlannedRun>();
        var seen = new Dictionary<string, string>();
        for (int m = 0; m < spec.Models.Length; m++)
        {
            var model = spec.Models[m];
            long n = ModelShapes.NonEmbeddingParams(model);
            double lr = SweepPlanner.LrFor(spec, n);
            var budgets = SweepPlanner.Budgets(spec, m).Select(b => (b.D, b.C, b.Origin, Steps: SweepPlanner.Steps(spec, b.D, b.Origin))).ToList();
            // One warmup for the trunk and every branch: the sweep's, or the trainer's default for the shortest budget.
            int warmup = spec.WarmupSteps > 0 ? spec.WarmupSteps : Math.Max(1, Math.Min(2000, budgets.Min(b => b.Steps) / 10));
            foreach (var b in budgets) SweepPlanner.CheckCooldown(spec, b.Steps, warmup, b.Origin);
            var forks = budgets.Select(b => LrScheduleSpec.CooldownStart(b.Steps, spec.CooldownFraction)).Distinct().Order().ToImmutableArray();
            foreach (int seed in spec.Seeds)
            {
                string trunk = TrunkKey(model, seed);
                Add(new PlannedRun(trunk, model, n, forks[^1] * SweepPlanner.TokensPerStep(spec), forks[^1], lr, seed, null,
                    RunRole.Trunk, ForkSteps: forks, WarmupSteps: warmup), $"models[{m}] trunk");
                foreach (var b in budgets)
                    Add(new PlannedRun(SweepPlanner.Key(model, b.D, seed), model, n, b.D, b.Steps, lr, seed, b.C, RunRole.Branch, trunk,
                        LrScheduleSpec.CooldownStart(b.Steps, spec.CooldownFraction), WarmupSteps: warmup), b.Origin);
            }
        }
        return runs;

        void Add(PlannedRun run, string origin)
        {
            if (seen.TryGetValue(run.Key, out var first))
                throw new ArgumentException($"duplicate run {run.Key}: {first} and {origin} give the same model, tokens and seed; remove one");
            seen[run.Key] = origin;
            runs.Add(run);
        }
    }

    static string TrunkKey(ModelShape model, int seed) =>
        string.Create(CultureInfo.InvariantCulture, $"L{model.NLayer}-d{model.NEmbd}-h{model.NHead}-trunk-s{seed}");
}
