using System.Globalization;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Experiments.Planning;

/// <summary>
/// Turns a sweep into runs: every model × every token budget (grid), and every model × every FLOP budget at
/// D = C / (6N) (IsoFLOP profiles, Chinchilla approach 2), each for every seed. Keys are stable and unique. A
/// branching sweep plans the same points as cooldown branches of one trunk per model and seed (<see cref="BranchPlanner"/>).
///
/// Data-aware: with the corpus's unique training tokens known (SweepSpec.CorpusTrainTokens), a run whose D exceeds
/// them repeats data, which breaks the law's assumption of fresh tokens (Muennighoff et al. 2023, "Scaling
/// Data-Constrained Language Models"): <see cref="EpochWarnings"/> says so with the epoch counts, and max_epochs
/// refuses such a plan before anything runs.
/// </summary>
public static class SweepPlanner
{
    public static IReadOnlyList<PlannedRun> Plan(SweepSpec spec)
    {
        if (spec.Branching)
        {
            var branches = BranchPlanner.Plan(spec);
            CheckEpochs(spec, branches);
            return branches;
        }
        var runs = new List<PlannedRun>();
        var seen = new Dictionary<string, string>();
        for (int m = 0; m < spec.Models.Length; m++)
        {
            var model = spec.Models[m];
            long n = ModelShapes.NonEmbeddingParams(model);
            double lr = LrFor(spec, n);
            foreach (int seed in spec.Seeds)
            foreach (var (d, c, origin) in Budgets(spec, m))
            {
                int steps = Steps(spec, d, origin);
                if (spec.Schedule == LrScheduleSpec.Wsd)
                {
                    int warmup = spec.WarmupSteps > 0 ? spec.WarmupSteps : Math.Min(2000, steps / 10);
                    CheckCooldown(spec, steps, warmup, origin);
                }
                string key = Key(model, d, seed);
                if (seen.TryGetValue(key, out var first))
                    throw new ArgumentException($"duplicate run {key}: {first} and {origin} give the same model, tokens and seed; remove one");
                seen[key] = origin;
                runs.Add(new PlannedRun(key, model, n, d, steps, lr, seed, c));
            }
        }
        CheckEpochs(spec, runs);
        return runs;
    }

    /// <summary>Model m's budgets: (tokens D, FLOP budget C or null, where it comes from for errors), grid first.</summary>
    internal static IEnumerable<(long D, double? C, string Origin)> Budgets(SweepSpec spec, int m)
    {
        long n = ModelShapes.NonEmbeddingParams(spec.Models[m]);
        foreach (long d in spec.Tokens) yield return (d, null, $"models[{m}] x tokens {d:G3}");
        foreach (double c in spec.FlopBudgets) yield return ((long)Math.Round(c / (6.0 * n)), c, $"models[{m}] x flop budget {c:G3}");
    }

    internal static double LrFor(SweepSpec spec, long n) =>
        spec.LrReferenceParams is { } reference ? spec.Lr * Math.Pow(n / reference, spec.LrExponent) : spec.Lr;

    internal static long TokensPerStep(SweepSpec spec) => (long)spec.Batch * spec.BlockSize * spec.WorkersPerRun;

    /// <summary>The steps that train on <paramref name="d"/> tokens (rounded up); a budget under one step is an error.</summary>
    internal static int Steps(SweepSpec spec, long d, string origin)
    {
        long tokensPerStep = TokensPerStep(spec);
        if (d < tokensPerStep)
            throw new ArgumentException(
                $"{origin}: {d} tokens is less than one step ({tokensPerStep} tokens = batch {spec.Batch} x block {spec.BlockSize} x workers {spec.WorkersPerRun}); raise the budget or shrink the batch");
        return (int)Math.Min(int.MaxValue, (d + tokensPerStep - 1) / tokensPerStep);
    }

    internal static string Key(ModelShape model, long d, int seed) => string.Create(CultureInfo.InvariantCulture,
        $"L{model.NLayer}-d{model.NEmbd}-h{model.NHead}-D{d:0.###e0}-s{seed}").Replace("e+", "e");

    /// <summary>A WSD run whose cooldown would start inside its warmup cannot have the schedule asked for.</summary>
    internal static void CheckCooldown(SweepSpec spec, int steps, int warmup, string origin)
    {
        int start = LrScheduleSpec.CooldownStart(steps, spec.CooldownFraction);
        if (start < Math.Max(1, warmup))
            throw new ArgumentException(
                $"{origin}: its cooldown starts at step {start} of {steps} (cooldown_fraction {spec.CooldownFraction}), before warmup ends at step {warmup}; raise the budget or lower warmup_steps or cooldown_fraction");
    }

    /// <summary>Epochs of the corpus's unique training tokens a run trains (null when the corpus is unknown).</summary>
    public static double? Epochs(SweepSpec spec, PlannedRun run) =>
        spec.CorpusTrainTokens is > 0 and var unique ? (double)run.Tokens / unique : null;

    static void CheckEpochs(SweepSpec spec, IReadOnlyList<PlannedRun> runs)
    {
        if (spec.MaxEpochs is not { } max || spec.CorpusTrainTokens is not > 0) return; // unknown corpus: SweepSpecYaml.Load refuses max_epochs
        var over = runs.Where(r => Epochs(spec, r) > max).OrderByDescending(r => r.Tokens).ToList();
        if (over.Count == 0) return;
        var worst = over[0];
        throw new ArgumentException(
            $"{over.Count} of {runs.Count} runs exceed max_epochs {max:G3}: {worst.Key} trains {worst.Tokens:G3} tokens = {Epochs(spec, worst):F1} epochs of the corpus's {spec.CorpusTrainTokens:G3} unique training tokens; lower tokens/flop_budgets or use a larger corpus");
    }

    /// <summary>One warning per plan whose runs repeat the corpus, naming how many and the worst epoch count.</summary>
    public static IReadOnlyList<string> EpochWarnings(SweepSpec spec, IReadOnlyList<PlannedRun> plan)
    {
        var over = plan.Where(r => Epochs(spec, r) > 1).OrderByDescending(r => r.Tokens).ToList();
        if (over.Count == 0) return [];
        var worst = over[0];
        return [$"{over.Count} of {plan.Count} runs train past one epoch of the corpus's {spec.CorpusTrainTokens:G3} unique training tokens (up to {Epochs(spec, worst):F1} epochs, {worst.Key}): repeated tokens are worth less than fresh ones, so the law's D is overstated for them (set max_epochs: 1 to refuse such plans, or use a larger corpus)"];
    }
}
