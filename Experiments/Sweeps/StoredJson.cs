using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Experiments.Sweeps;

/// <summary>
/// Reads the JSON a sweep stores (its status.json, metrics/KEY.json, the grain's persisted state) and checks its
/// shape. Valid JSON with the wrong fields deserializes to records full of nulls, which used to surface as
/// NullReferenceExceptions far away; here every problem is an <see cref="InvalidDataException"/> (exit 2) naming the
/// file and the field. Optional lists that are null are read as empty.
/// </summary>
public static class StoredJson
{
    const string StatusHint = "expected the status.json the coordinator writes in STORAGE/SWEEP-ID/";

    /// <summary>A sweep status from <paramref name="json"/>; <paramref name="source"/> names it in errors.</summary>
    public static SweepStatus ReadStatus(string json, string source)
    {
        var status = Deserialize<SweepStatus>(json, source) ?? throw new InvalidDataException($"{source} holds null, not a sweep status ({StatusHint})");
        return Check(status, source, json);
    }

    /// <summary>A finished attempt's run status (metrics/KEY.json) with its step history.</summary>
    public static RunStatus ReadRunMetrics(string json, string source)
    {
        var run = Deserialize<RunStatus>(json, source) ?? throw new InvalidDataException($"{source} holds null, not a run status");
        if (run.History.IsDefault) throw new InvalidDataException($"{source}: 'history' is null (give [] for a run without metrics)");
        for (int i = 0; i < run.History.Length; i++)
            if (run.History[i] is null) throw new InvalidDataException($"{source}: history[{i}] is null");
        return run with
        {
            Checkpoints = OrEmpty(run.Checkpoints), Workers = OrEmpty(run.Workers), Transitions = OrEmpty(run.Transitions),
            Joining = OrEmpty(run.Joining),
        };
    }

    static T? Deserialize<T>(string json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, SweepFolder.Json);
        }
        catch (JsonException e)
        {
            // "The JSON value could not be converted to <CLR type>. Path: $.runs[0].state | LineNumber: 3 | ..." names
            // a type the user never wrote: name the field and line, and say what is wrong in their terms.
            string message = e.Message;
            int cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
            if (cut >= 0) message = message[..cut];
            if (message.StartsWith("The JSON value could not be converted to", StringComparison.Ordinal))
                message = e.Path is { Length: > 1 }
                    ? "this value has the wrong type (or is null where a value is needed)"
                    : $"expected a JSON object (a {typeof(T).Name})";
            else message = "not valid JSON: " + message;
            string where = e.Path is { Length: > 1 } path ? $" at {path[2..]}" : "";
            throw new InvalidDataException($"{source}:{(e.LineNumber ?? 0) + 1}{where}: {message}", e);
        }
    }

    static SweepStatus Check(SweepStatus s, string source, string json)
    {
        if (string.IsNullOrWhiteSpace(s.Id)) throw Missing(source, "id");
        if (!Enum.IsDefined(s.State)) throw new InvalidDataException($"{source}: state {(int)s.State} is not a sweep state");
        if (s.Runs.IsDefault || s.Runs.IsEmpty) throw Missing(source, "runs");
        var runs = s.Runs.ToBuilder();
        for (int i = 0; i < runs.Count; i++)
        {
            string at = $"runs[{i}]";
            var r = runs[i] ?? throw new InvalidDataException($"{source}: {at} is null");
            if (r.Plan is not { } p)
            {
                // `orch sweep status --json` prints a summary whose runs have a key but no plan: say so.
                bool summary = JsonNode.Parse(json)?["runs"]?[i]?["key"] is not null;
                throw new InvalidDataException($"{source}: {at} has no 'plan' ({StatusHint}"
                    + (summary ? "; this looks like the output of `orch sweep status --json`, which has no plans)" : ")"));
            }
            if (string.IsNullOrWhiteSpace(p.Key)) throw Missing(source, $"{at}.plan.key");
            if (p.Model is null) throw Missing(source, $"{at}.plan.model");
            if (p.NonEmbeddingParams <= 0) throw Positive(source, $"{at}.plan.non_embedding_params", p.NonEmbeddingParams);
            if (p.Tokens <= 0) throw Positive(source, $"{at}.plan.tokens", p.Tokens);
            if (p.Steps <= 0) throw Positive(source, $"{at}.plan.steps", p.Steps);
            if (r.State is { } st && !Enum.IsDefined(st)) throw new InvalidDataException($"{source}: {at}.state {(int)st} is not a run state");
            runs[i] = r with { Failures = OrEmpty(r.Failures), ForkPoints = OrEmpty(r.ForkPoints) };
        }
        var keys = runs.GroupBy(r => r.Plan.Key).FirstOrDefault(g => g.Count() > 1);
        if (keys is not null) throw new InvalidDataException($"{source}: run key '{keys.Key}' appears {keys.Count()} times");

        if (s.Spec is not { } spec) throw Missing(source, "spec");
        if (spec.Batch < 1) throw Positive(source, "spec.batch", spec.Batch);
        if (spec.WorkersPerRun < 1) throw Positive(source, "spec.workers_per_run", spec.WorkersPerRun);
        spec = spec with
        {
            Models = OrEmpty(spec.Models), Tokens = OrEmpty(spec.Tokens), FlopBudgets = OrEmpty(spec.FlopBudgets), Seeds = OrEmpty(spec.Seeds),
            ReportBudgets = OrEmpty(spec.ReportBudgets), Options = spec.Options ?? ImmutableDictionary<string, string>.Empty,
        };
        return s with { Runs = runs.ToImmutable(), Spec = spec, Folder = s.Folder ?? "", Name = s.Name ?? s.Id };
    }

    static ImmutableArray<T> OrEmpty<T>(ImmutableArray<T> a) => a.IsDefault ? [] : a;

    static InvalidDataException Missing(string source, string field) =>
        new($"{source}: '{field}' is missing or empty ({StatusHint})");

    static InvalidDataException Positive(string source, string field, long value) =>
        new($"{source}: '{field}' is {value}; it must be > 0");
}
