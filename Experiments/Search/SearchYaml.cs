using System.Collections.Immutable;
using Orchestrator.Contracts.Experiments;

namespace Orchestrator.Experiments.Search;

// The sweep YAML's search section as written, and its checks. Every problem is an ArgumentException naming the key
// (SweepSpecYaml turns it into an InvalidDataException: exit 2). Example:
//   search:
//     method: random                 # grid | random
//     trials: 12                     # random: configurations per model
//     seed: 1
//     tokens: 2e6                    # each trial's budget
//     lr: { min: 1e-4, max: 1e-2 }   # a range (log-uniform for lr; grid needs points: K) or { values: [...] }
//     warmup_steps: { values: [0, 20] }
//     weight_decay: { values: [0, 0.1] }
//     beta2: { min: 0.9, max: 0.999 }
//     batch: { values: [8, 16] }
//     early_stop: { method: asha, min_tokens: 2e5, reduction_factor: 3 }   # or rungs: [2e5, 6e5]

sealed class SearchYaml
{
    public string? Method { get; set; }
    public int? Trials { get; set; }
    public int? Seed { get; set; }
    public double? Tokens { get; set; }
    public SearchParamYaml? Lr { get; set; }
    public SearchParamYaml? WarmupSteps { get; set; }
    public SearchParamYaml? WeightDecay { get; set; }
    public SearchParamYaml? Beta2 { get; set; }
    public SearchParamYaml? Batch { get; set; }
    public EarlyStopYaml? EarlyStop { get; set; }
}

sealed class SearchParamYaml
{
    public List<double>? Values { get; set; }
    public double? Min { get; set; }
    public double? Max { get; set; }
    public int? Points { get; set; }
}

sealed class EarlyStopYaml
{
    public string? Method { get; set; }
    public List<double>? Rungs { get; set; }
    public double? MinTokens { get; set; }
    public int? ReductionFactor { get; set; }
}

static class SearchYamlReader
{
    public const string Keys = "method, trials, seed, tokens, lr, warmup_steps, weight_decay, beta2, batch, early_stop";
    public const string ParamKeys = "values, min, max, points";
    public const string EarlyStopKeys = "method, rungs, min_tokens, reduction_factor";

    /// <summary>The search section; <paramref name="defaultTokens"/> (the sweep's largest token budget) when tokens is left out.</summary>
    public static SearchSpec Build(SearchYaml y, long? defaultTokens)
    {
        string method = y.Method ?? "grid";
        if (method is not ("grid" or "random")) throw new ArgumentException($"search.method '{method}' is not one of grid, random");
        var ps = new List<SearchParam>();
        Add("lr", y.Lr);
        Add("warmup_steps", y.WarmupSteps);
        Add("weight_decay", y.WeightDecay);
        Add("beta2", y.Beta2);
        Add("batch", y.Batch);
        if (ps.Count == 0) throw new ArgumentException($"search has no parameters: give at least one of lr, warmup_steps, weight_decay, beta2, batch");
        int trials = 0;
        if (method == "random")
        {
            trials = y.Trials ?? throw new ArgumentException("search.trials is missing: random search draws that many configurations per model");
            if (trials < 1 || trials > SearchPlanner.MaxTrials) throw new ArgumentException($"search.trials {trials} must be in 1..{SearchPlanner.MaxTrials}");
        }
        else if (y.Trials is not null) throw new ArgumentException("search.trials is for method: random (a grid runs every combination)");
        double tokens = y.Tokens ?? defaultTokens
            ?? throw new ArgumentException("search.tokens is missing: each trial's token budget (the sweep has no tokens list to take the largest of)");
        if (!(tokens >= 1) || !double.IsFinite(tokens)) throw new ArgumentException($"search.tokens {tokens} must be a positive number of tokens");
        long budget = (long)Math.Round(tokens);
        return new SearchSpec
        {
            Method = method, Trials = trials, Seed = y.Seed ?? 1, Tokens = budget, Params = [.. ps],
            EarlyStop = y.EarlyStop is { } e ? EarlyStop(e, budget) : null,
        };

        void Add(string name, SearchParamYaml? p)
        {
            if (p is null) return;
            string key = $"search.{name}";
            bool hasValues = p.Values is not null, hasRange = p.Min is not null || p.Max is not null;
            if (hasValues == hasRange) throw new ArgumentException($"{key}: give either values: [...] or min and max (a range)");
            Func<double, bool> valid = name switch
            {
                "lr" => v => v > 0,
                "warmup_steps" => v => v >= 0,
                "weight_decay" => v => v >= 0,
                "beta2" => v => v > 0 && v < 1,
                _ => v => v >= 1,
            };
            string rule = name switch { "lr" => "> 0", "warmup_steps" or "weight_decay" => ">= 0", "beta2" => "in (0, 1)", _ => ">= 1" };
            if (hasValues)
            {
                if (p.Values!.Count == 0) throw new ArgumentException($"{key}.values is empty: give at least one value");
                if (p.Points is not null) throw new ArgumentException($"{key}.points goes with a range (min, max), not with values");
                foreach (var v in p.Values)
                {
                    if (!double.IsFinite(v) || !valid(v)) throw new ArgumentException($"{key}.values: {v} must be {rule}");
                    if (SearchSpace.IsInteger(name) && v != Math.Round(v)) throw new ArgumentException($"{key}.values: {v} must be a whole number");
                }
                if (p.Values.Distinct().Count() != p.Values.Count) throw new ArgumentException($"{key}.values has duplicates");
                ps.Add(new SearchParam { Name = name, Values = [.. p.Values] });
                return;
            }
            if (p.Min is not { } lo || p.Max is not { } hi) throw new ArgumentException($"{key}: a range needs both min and max");
            if (!double.IsFinite(lo) || !valid(lo)) throw new ArgumentException($"{key}.min {lo} must be {rule}");
            if (!double.IsFinite(hi) || !valid(hi)) throw new ArgumentException($"{key}.max {hi} must be {rule}");
            if (!(lo < hi)) throw new ArgumentException($"{key}: the range [{lo}, {hi}] is empty: min must be below max");
            if (SearchSpace.IsInteger(name) && Math.Floor(hi) < Math.Ceiling(lo)) throw new ArgumentException($"{key}: the range [{lo}, {hi}] holds no whole number");
            if (method == "grid" && p.Points is null) throw new ArgumentException($"{key}: a grid needs points: K (how many values to space over [{lo}, {hi}])");
            if (p.Points is < 2 or > 1000) throw new ArgumentException($"{key}.points {p.Points} must be in 2..1000");
            ps.Add(new SearchParam { Name = name, Min = lo, Max = hi, Points = p.Points });
        }
    }

    static AshaSpec EarlyStop(EarlyStopYaml e, long budget)
    {
        if ((e.Method ?? "asha") != "asha") throw new ArgumentException($"search.early_stop.method '{e.Method}' is not asha (the only early-stopping rule)");
        int eta = e.ReductionFactor ?? 3;
        if (eta < 2 || eta > 100) throw new ArgumentException($"search.early_stop.reduction_factor {eta} must be in 2..100");
        var rungs = new List<long>();
        if (e.Rungs is not null)
        {
            if (e.MinTokens is not null) throw new ArgumentException("search.early_stop: give rungs or min_tokens, not both");
            if (e.Rungs.Count == 0) throw new ArgumentException("search.early_stop.rungs is empty: give the token counts where trials are compared");
            for (int i = 0; i < e.Rungs.Count; i++)
            {
                double r = e.Rungs[i];
                if (!(r >= 1) || !double.IsFinite(r)) throw new ArgumentException($"search.early_stop.rungs[{i}] = {r} must be a positive number of tokens");
                if (r >= budget)
                    throw new ArgumentException($"search.early_stop.rungs[{i}] = {r:G4} tokens is beyond the trial budget (search.tokens {budget:G4}): every rung must come before the end");
                if (i > 0 && r <= e.Rungs[i - 1]) throw new ArgumentException($"search.early_stop.rungs must increase ({e.Rungs[i - 1]:G4} then {r:G4})");
                rungs.Add((long)Math.Round(r));
            }
        }
        else
        {
            double min = e.MinTokens ?? throw new ArgumentException("search.early_stop needs rungs: [tokens...] or min_tokens (the first rung; the next are x reduction_factor)");
            if (!(min >= 1) || !double.IsFinite(min)) throw new ArgumentException($"search.early_stop.min_tokens {min} must be a positive number of tokens");
            if (min >= budget)
                throw new ArgumentException($"search.early_stop.min_tokens {min:G4} is beyond the trial budget (search.tokens {budget:G4}): the first rung must come before the end");
            for (double r = min; r < budget; r *= eta) rungs.Add((long)Math.Round(r));
        }
        return new AshaSpec { Rungs = [.. rungs], ReductionFactor = eta };
    }
}
