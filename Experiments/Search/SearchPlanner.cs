using System.Globalization;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Experiments.Search;

/// <summary>
/// Turns a sweep's search into trials: the same configurations for every model (so sizes compare like for like),
/// each an ordinary run of the search's token budget under the first seed. Invariant: the plan is a function of the
/// spec alone (random search draws from its own seed with System.Random's seeded, version-stable generator), so a
/// relaunch plans the same trials under the same keys.
/// </summary>
public static class SearchPlanner
{
    /// <summary>The most trials one sweep may plan (models × configurations), checked before anything starts.</summary>
    public const int MaxTrials = 4096;

    public static IReadOnlyList<PlannedRun> Plan(SweepSpec spec)
    {
        if (spec.Search is not { } search) return [];
        var configs = Configurations(spec, search);
        if ((long)configs.Count * spec.Models.Length > MaxTrials)
            throw new ArgumentException($"search plans {configs.Count} configurations x {spec.Models.Length} models = {(long)configs.Count * spec.Models.Length} trials; at most {MaxTrials}: use fewer points or trials");
        var runs = new List<PlannedRun>();
        var seen = new HashSet<string>();
        foreach (var model in spec.Models)
        {
            long n = ModelShapes.NonEmbeddingParams(model);
            foreach (var c in configs)
            {
                long perStep = (long)c.Batch * model.BlockSize * spec.WorkersPerRun;
                if (search.Tokens < perStep)
                    throw new ArgumentException($"search.tokens {search.Tokens} is less than one step ({perStep} tokens = batch {c.Batch} x block {model.BlockSize} x workers {spec.WorkersPerRun})");
                int steps = (int)Math.Min(int.MaxValue, (search.Tokens + perStep - 1) / perStep);
                string key = string.Create(CultureInfo.InvariantCulture, $"search-L{model.NLayer}-d{model.NEmbd}-h{model.NHead}-t{c.Index:D3}");
                if (!seen.Add(key)) throw new ArgumentException($"models list the shape L{model.NLayer} d{model.NEmbd} h{model.NHead} twice: a search needs each size once");
                runs.Add(new PlannedRun(key, model, n, search.Tokens, steps, c.Lr, spec.Seeds[0], null, Trial: c));
            }
        }
        return runs;
    }

    public static IReadOnlyList<TrialConfig> Configurations(SweepSpec spec, SearchSpec search)
    {
        var byName = search.Params.ToDictionary(p => p.Name);
        var axes = SearchSpace.Names.Select(name => byName.GetValueOrDefault(name)).ToArray();
        var draws = new List<double?[]>();
        if (search.Method == "grid")
        {
            var values = axes.Select(p => p is null ? [null] : SearchSpace.GridValues(p).Select(v => (double?)v).ToArray()).ToArray();
            long total = values.Aggregate(1L, (acc, v) => acc * v.Length);
            if (total > MaxTrials) throw new ArgumentException($"search grid has {total} points; at most {MaxTrials}: use fewer values or points");
            var index = new int[values.Length];
            for (long t = 0; t < total; t++)
            {
                draws.Add([.. values.Select((v, a) => v[index[a]])]);
                for (int a = values.Length - 1; a >= 0 && ++index[a] == values[a].Length; a--) index[a] = 0;
            }
        }
        else
        {
            var rng = new Random(search.Seed);
            for (int t = 0; t < search.Trials; t++) draws.Add([.. axes.Select(p => p is null ? (double?)null : SearchSpace.Draw(p, rng))]);
        }
        return [.. draws.Select((d, t) => new TrialConfig(t,
            Lr: d[0] ?? spec.Lr,
            WarmupSteps: d[1] is { } w ? (int)Math.Round(w) : spec.WarmupSteps,
            WeightDecay: d[2],
            Beta2: d[3],
            Batch: d[4] is { } b ? (int)Math.Round(b) : spec.Batch))];
    }
}
