using System.Text.Json;
using System.Text.Json.Serialization;
using Orchestrator.Contracts.Runs;

namespace Orchestrator.Experiments.Sweeps;

/// <summary>
/// A run event's kind in a sweep folder's JSON, by name. Folders written before the membership "epoch" was called a
/// "generation" name that event "Epoch": it still reads, as <see cref="RunEventKind.Generation"/>, so an old sweep
/// still reports; every other unknown name is refused as a wrong value.
/// </summary>
public sealed class RunEventKindJson : JsonConverter<RunEventKind>
{
    public override RunEventKind Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String) throw new JsonException("a run event kind is a name");
        string name = reader.GetString()!;
        if (name == "Epoch") return RunEventKind.Generation;
        return Enum.TryParse<RunEventKind>(name, ignoreCase: false, out var kind) && Enum.IsDefined(kind)
            ? kind : throw new JsonException($"unknown run event kind '{name}'");
    }

    public override void Write(Utf8JsonWriter writer, RunEventKind value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
