using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Tests.Dashboard;

/// <summary>
/// Two JSON documents with the same fields and the same values: names and order of properties, array lengths,
/// strings and booleans exactly; numbers to 1e-9 relative (a fit recomputed in another process may differ in the
/// last bits). Properties named in <c>ignore</c> (values that move with the clock) are compared by presence only.
/// </summary>
public static class JsonSame
{
    public static void Assert(JsonNode? expected, JsonNode? actual, params string[] ignore) => Compare(expected, actual, "$", ignore);

    static void Compare(JsonNode? e, JsonNode? a, string path, string[] ignore)
    {
        if (e is null || a is null)
        {
            if (e is not null || a is not null) Fail(path, e, a);
            return;
        }
        switch (e)
        {
            case JsonObject eo:
                if (a is not JsonObject ao) { Fail(path, e, a); return; }
                var en = eo.Select(p => p.Key).ToList();
                var an = ao.Select(p => p.Key).ToList();
                if (!en.SequenceEqual(an)) throw new Xunit.Sdk.XunitException($"{path}: fields differ\n cli: {string.Join(",", en)}\n api: {string.Join(",", an)}");
                foreach (var (k, v) in eo)
                    if (!ignore.Contains(k)) Compare(v, ao[k], $"{path}.{k}", ignore);
                break;
            case JsonArray ea:
                if (a is not JsonArray aa || aa.Count != ea.Count) { Fail(path, e, a); return; }
                for (int i = 0; i < ea.Count; i++) Compare(ea[i], aa[i], $"{path}[{i}]", ignore);
                break;
            default:
                var ev = e.AsValue(); var av = a.AsValue();
                if (ev.GetValueKind() == JsonValueKind.Number && av.GetValueKind() == JsonValueKind.Number)
                {
                    double x = ev.GetValue<double>(), y = av.GetValue<double>();
                    if (!(x == y || Math.Abs(x - y) <= 1e-9 * Math.Max(Math.Abs(x), Math.Abs(y)))) Fail(path, e, a);
                }
                else if (e.ToJsonString() != a.ToJsonString()) Fail(path, e, a);
                break;
        }
    }

    static void Fail(string path, JsonNode? e, JsonNode? a) =>
        throw new Xunit.Sdk.XunitException($"{path}: cli {e?.ToJsonString() ?? "null"} but api {a?.ToJsonString() ?? "null"}");
}
