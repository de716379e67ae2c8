using System.Globalization;
using Orchestrator.Contracts.Experiments;

namespace Orchestrator.Experiments.Planning;

/// <summary>
/// Turns a sweep into runs: every model × every token budget (grid), and every model × every FLOP budget at
/// D = C / (6N) (IsoFLOP profiles, Chinchilla approach 2), each for every seed. Keys are stable and unique.
/// </summary>
public static class SweepPlanner
{
    public static IReadOnlyList<PlannedRun> Plan(SweepSpec spec)
    {
        long tokensPerStep = (long)spec.Batch * spec.BlockSize * spec.WorkersPerRun;
        var runs = new List<PlannedRun>();
        var seen = new Dictionary<string, string>();
        for (int m = 0; m < spec.Models.Length; m++)
        {
            var model = spec.Models[m];
            long n = ModelShapes.NonEmbeddingParams(model);
            double lr = spec.LrReferenceParams is { } reference ? spec.Lr * Math.Pow(n / reference, spec.LrExponent) : spec.Lr;
            foreach (int seed in spec.Seeds)
            {
                foreach (long d in spec.Tokens) Add(model, n, d, null, lr, seed, $"models[{m}] x tokens {d:G3}");
                foreach (double c in spec.FlopBudgets)
                    Add(model, n, (long)Math.Round(c / (6.0 * n)), c, lr, seed, $"models[{m}] x flop budget {c:G3}");
            }
        }
        return runs;

        void Add(Contracts.Runs.ModelShape model, long n, long d, double? c, double lr, int seed, string origin)
        {
            if (d < tokensPerStep)
                throw new ArgumentException(
                    $"{origin}: {d} tokens is less than one step ({tokensPerStep} tokens = batch {spec.Batch} x block {spec.BlockSize} x workers {spec.WorkersPerRun}); raise the budget or shrink the batch");
            int steps = (int)Math.Min(int.MaxValue, (d + tokensPerStep - 1) / tokensPerStep);
            string key = string.Create(CultureInfo.InvariantCulture,
                $"L{model.NLayer}-d{model.NEmbd}-h{model.NHead}-D{d:0.###e0}-s{seed}").Replace("e+", "e");
            if (seen.TryGetValue(key, out var first))
                throw new ArgumentException($"duplicate run {key}: {first} and {origin} give the same model, tokens and seed; remove one");
            seen[key] = origin;
            runs.Add(new PlannedRun(key, model, n, d, steps, lr, seed, c));
        }
    }
}
