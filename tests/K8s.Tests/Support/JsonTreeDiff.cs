using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Tests.K8s.Support;

/// <summary>
/// Compares two JSON trees and lists every path where they differ. Leaves compare by their text, because the
/// typed models legitimately change a scalar's JSON type (a quantity `nvidia.com/gpu: 1` comes back as "1", an
/// IntOrString port stays a string or number); a field present on one side only is always a difference.
/// </summary>
static class JsonTreeDiff
{
    public static List<string> Compare(JsonNode? original, JsonNode? roundTripped)
    {
        var diffs = new List<string>();
        Walk(original, roundTripped, "$", diffs);
        return diffs;
    }

    static void Walk(JsonNode? a, JsonNode? b, string path, List<string> diffs)
    {
        switch (a, b)
        {
            case (null, null):
                return;
            case (JsonObject oa, JsonObject ob):
                foreach (var (key, value) in oa)
                {
                    if (!ob.ContainsKey(key)) { if (value is not null) diffs.Add($"dropped: {path}.{key}"); continue; }
                    Walk(value, ob[key], $"{path}.{key}", diffs);
                }
                foreach (var (key, value) in ob)
                    if (!oa.ContainsKey(key) && value is not null) diffs.Add($"added: {path}.{key}");
                return;
            case (JsonArray xa, JsonArray xb):
                if (xa.Count != xb.Count) { diffs.Add($"length {xa.Count} -> {xb.Count}: {path}"); return; }
                for (int i = 0; i < xa.Count; i++) Walk(xa[i], xb[i], $"{path}[{i}]", diffs);
                return;
            case (JsonValue va, JsonValue vb):
                if (Text(va) != Text(vb)) diffs.Add($"changed: {path}: {Text(va)} -> {Text(vb)}");
                return;
            default:
                diffs.Add($"changed: {path}: {a?.ToJsonString() ?? "null"} -> {b?.ToJsonString() ?? "null"}");
                return;
        }
    }

    static string Text(JsonValue v) => v.GetValueKind() switch
    {
        JsonValueKind.String => v.GetValue<string>(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Number => double.Parse(v.ToJsonString(), CultureInfo.InvariantCulture).ToString("R", CultureInfo.InvariantCulture),
        _ => v.ToJsonString(),
    };
}
