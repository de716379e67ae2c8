using System.Collections.Immutable;
using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Limits;
using Orchestrator.Contracts.Specs;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Orchestrator.Coordinator.Runs;

/// <summary>
/// Reads a RunSpec from YAML (docs/CLI.md keys, snake_case) through the strict reader: malformed YAML, duplicate and
/// unknown keys and wrong types are errors with their line, so a typo or a repeated key is never silently ignored.
/// </summary>
public static class RunSpecYaml
{
    static readonly IDeserializer Reader = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .WithTypeConverter(new ImmutableMapConverter())
        .WithTypeConverter(new ImmutableIntsConverter())
        .Build();

    public static RunSpec Parse(string yaml, string source = "spec")
    {
        if (string.IsNullOrWhiteSpace(yaml)) throw new InvalidRunSpecException($"{source}: the file is empty (see docs/CLI.md for a RunSpec example)");
        try
        {
            StrictYaml.Check(yaml, typeof(RunSpec), "a RunSpec is a mapping of keys (name: ..., data: ..., model: {...}, steps: ...), not a list or a single value");
        }
        catch (StrictYamlException e)
        {
            throw new InvalidRunSpecException($"{source}: line {e.Line}, column {e.Column}: {e.Problem}");
        }
        try
        {
            var spec = Reader.Deserialize<RunSpec>(yaml)
                ?? throw new InvalidRunSpecException($"{source}: no YAML mapping found (see docs/CLI.md for a RunSpec example)");
            return spec with
            {
                Model = spec.Model ?? new(),
                Workers = spec.Workers ?? new(),
                Checkpoint = spec.Checkpoint is { } c ? c with { At = c.At.IsDefault ? [] : c.At } : new(),
                Options = spec.Options ?? [],
            };
        }
        catch (YamlException e)
        {
            var inner = e.InnerException?.Message ?? e.Message;
            throw new InvalidRunSpecException($"{source}: line {e.Start.Line}, column {e.Start.Column}: {Clean(inner)}");
        }
    }

    public static RunSpec Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"run spec '{path}' does not exist");
        ResourceLimits.RequireSpecSize(path);
        return Parse(File.ReadAllText(path), path);
    }

    static string Clean(string message) => message.ReplaceLineEndings(" ").Trim();

    /// <summary>YamlDotNet cannot build immutable arrays either (checkpoint.at).</summary>
    sealed class ImmutableIntsConverter : IYamlTypeConverter
    {
        public bool Accepts(Type type) => type == typeof(ImmutableArray<int>);

        public object? ReadYaml(IParser parser, Type type, ObjectDeserializer rootDeserializer) =>
            ((List<int>?)rootDeserializer(typeof(List<int>)))?.ToImmutableArray() ?? ImmutableArray<int>.Empty;

        public void WriteYaml(IEmitter emitter, object? value, Type type, ObjectSerializer serializer) =>
            serializer(value is ImmutableArray<int> a ? a.ToList() : null, typeof(List<int>));
    }

    /// <summary>YamlDotNet cannot build immutable dictionaries: read a plain one and freeze it.</summary>
    sealed class ImmutableMapConverter : IYamlTypeConverter
    {
        public bool Accepts(Type type) => type == typeof(ImmutableDictionary<string, string>);

        public object? ReadYaml(IParser parser, Type type, ObjectDeserializer rootDeserializer) =>
            ((Dictionary<string, string>?)rootDeserializer(typeof(Dictionary<string, string>)))?.ToImmutableDictionary()
            ?? ImmutableDictionary<string, string>.Empty;

        public void WriteYaml(IEmitter emitter, object? value, Type type, ObjectSerializer serializer) =>
            serializer(value is ImmutableDictionary<string, string> d ? d.ToDictionary() : null, typeof(Dictionary<string, string>));
    }
}
