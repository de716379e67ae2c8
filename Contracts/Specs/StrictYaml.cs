using System.Collections;
using System.Globalization;
using System.Reflection;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization.NamingConventions;

namespace Orchestrator.Contracts.Specs;

/// <summary>A spec problem at a place in the YAML text (1-based line and column).</summary>
public sealed class StrictYamlException(long line, long column, string problem) : Exception(problem)
{
    public long Line { get; } = line;
    public long Column { get; } = column;
    public string Problem { get; } = problem;
}

/// <summary>
/// The one strict reader of spec YAML (RunSpec and sweep): before a document is bound to its type it is checked
/// against that type's properties (snake_case keys): malformed YAML, duplicate keys, unknown keys (with the known
/// ones), values of the wrong type (a list where a number goes, 'ten' for an integer, .nan), numbers outside their
/// type and spec files over <see cref="Limits.ResourceLimits.MaxSpecBytes"/> are each refused with their line.
/// Invariant: a document that passes binds without a YamlDotNet error, and no key is ever silently ignored or
/// overwritten by a later one (YAML's "last one wins").
/// </summary>
public static class StrictYaml
{
    /// <summary>Checks <paramref name="yaml"/> against <paramref name="schema"/>; throws <see cref="StrictYamlException"/> at the first problem.</summary>
    /// <param name="notAMapping">The problem to report when the document is a list or a single value.</param>
    public static void Check(string yaml, Type schema, string notAMapping)
    {
        if (yaml.Length > Limits.ResourceLimits.MaxSpecBytes)
            throw new StrictYamlException(1, 1, $"{yaml.Length:N0} characters; a spec may hold at most {Limits.ResourceLimits.MaxSpecBytes:N0}");
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            var message = (e.InnerException?.Message ?? e.Message).ReplaceLineEndings(" ").Trim();
            // YamlDotNet's mapping node refuses a repeated key ("Duplicate key") at the second one.
            if (message.Contains("duplicate key", StringComparison.OrdinalIgnoreCase))
                message = $"duplicate key '{KeyAt(yaml, e.Start)}': give each key once (YAML would let the last one win)";
            throw new StrictYamlException(e.Start.Line, e.Start.Column, message);
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's loader fails this way on some malformed documents (an unclosed flow collection): say where.
            var (line, column) = LastGoodPosition(yaml);
            throw new StrictYamlException(line, column, "malformed YAML after this point: a '{' or '[' is not closed, or the indentation is off");
        }
        if (stream.Documents.Count == 0) return;
        if (stream.Documents.Count > 1)
            throw new StrictYamlException(stream.Documents[1].RootNode.Start.Line, 1, "more than one YAML document ('---'): give one spec per file");
        var root = stream.Documents[0].RootNode;
        if (root is YamlScalarNode { Value: null or "" or "~" or "null" }) return;
        if (root is not YamlMappingNode) throw new StrictYamlException(root.Start.Line, root.Start.Column, notAMapping);
        CheckNode(root, schema, "");
    }

    static void CheckNode(YamlNode node, Type type, string path)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (node is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" or "Null" or "NULL" }) return;
        if (underlying == typeof(object)) return; // a key that takes several shapes: its own reader checks it
        if (underlying == typeof(string))
        {
            if (node is not YamlScalarNode) Wrong(node, path, "a text value");
            return;
        }
        if (underlying == typeof(int) || underlying == typeof(long))
        {
            var text = Scalar(node, path, "an integer");
            bool ok = underlying == typeof(int)
                ? int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)
                : long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);
            if (!ok)
            {
                bool isNumber = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d);
                if (underlying == typeof(long) && isNumber && double.IsFinite(d) && d == Math.Floor(d) && Math.Abs(d) < 9e18) return; // 1e6 tokens
                throw At(node, isNumber
                    ? $"{Key(path)}: {text} is not {(underlying == typeof(int) ? $"an integer in [{int.MinValue}, {int.MaxValue}]" : "an integer")}"
                    : $"{Key(path)}: '{text}' is not an integer");
            }
            return;
        }
        if (underlying == typeof(double))
        {
            var text = Scalar(node, path, "a number");
            if (text.TrimStart('+', '-').ToLowerInvariant() is ".nan" or ".inf")
                throw At(node, $"{Key(path)}: {text} is not a finite number");
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
                throw At(node, $"{Key(path)}: '{text}' is not a number");
            if (!double.IsFinite(d)) throw At(node, $"{Key(path)}: {text} is not a finite number");
            return;
        }
        if (underlying == typeof(bool))
        {
            var text = Scalar(node, path, "true or false");
            if (!bool.TryParse(text, out _)) throw At(node, $"{Key(path)}: '{text}' is not true or false");
            return;
        }
        if (DictionaryValue(underlying) is { } valueType)
        {
            if (node is not YamlMappingNode map) { Wrong(node, path, "a mapping (key: value, ...)"); return; }
            foreach (var (k, v) in map.Children)
            {
                if (k is not YamlScalarNode { Value: { } key }) throw At(k, $"{Key(path)}: keys must be plain names");
                CheckNode(v, valueType, Join(path, key));
            }
            return;
        }
        if (ElementType(underlying) is { } element)
        {
            if (node is not YamlSequenceNode seq) { Wrong(node, path, "a list ([a, b, ...])"); return; }
            for (int i = 0; i < seq.Children.Count; i++) CheckNode(seq.Children[i], element, $"{path}[{i}]");
            return;
        }
        if (underlying.IsClass)
        {
            if (node is not YamlMappingNode map) { Wrong(node, path, "a mapping (key: value, ...)"); return; }
            var props = Properties(underlying);
            foreach (var (k, v) in map.Children)
            {
                var key = (k as YamlScalarNode)?.Value ?? "";
                if (!props.TryGetValue(key, out var prop))
                    throw At(k, Vocabulary.RenamedKey(key) ?? $"unknown key '{key}'{(path.Length == 0 ? "" : $" in {path}")} (known keys: {string.Join(", ", props.Keys)})");
                CheckNode(v, prop.PropertyType, Join(path, key));
            }
            return;
        }
        throw At(node, $"{Key(path)}: this reader cannot check values of type {underlying.Name}");
    }

    /// <summary>The snake_case keys of a type's settable properties, in declaration order.</summary>
    public static IReadOnlyDictionary<string, PropertyInfo> Properties(Type type)
    {
        var result = new Dictionary<string, PropertyInfo>(StringComparer.Ordinal);
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            if (p.SetMethod is not null && p.GetIndexParameters().Length == 0)
                result[UnderscoredNamingConvention.Instance.Apply(p.Name)] = p;
        return result;
    }

    /// <summary>The end of the last event the parser read before failing.</summary>
    static (long Line, long Column) LastGoodPosition(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        (long, long) last = (1, 1);
        try
        {
            while (parser.MoveNext())
                if (parser.Current is { } ev) last = (ev.End.Line, ev.End.Column);
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException) { }
        return last;
    }

    static string KeyAt(string yaml, Mark start)
    {
        var lines = yaml.Split('\n');
        if (start.Line < 1 || start.Line > lines.Length) return "?";
        var line = lines[start.Line - 1];
        var from = (int)Math.Clamp(start.Column - 1, 0, line.Length);
        var colon = line.IndexOf(':', from);
        return (colon < 0 ? line[from..] : line[from..colon]).Trim().Trim('"', '\'');
    }

    static Type? DictionaryValue(Type t)
    {
        var dict = t.IsGenericType && t.GetGenericArguments().Length == 2 && typeof(IEnumerable).IsAssignableFrom(t)
            && t.GetGenericArguments()[0] == typeof(string) ? t : null;
        return dict?.GetGenericArguments()[1];
    }

    static Type? ElementType(Type t)
    {
        if (t.IsArray) return t.GetElementType();
        if (t.IsGenericType && t.GetGenericArguments().Length == 1 && typeof(IEnumerable).IsAssignableFrom(t)) return t.GetGenericArguments()[0];
        return null;
    }

    static string Scalar(YamlNode node, string path, string what)
    {
        if (node is YamlScalarNode { Value: { } v }) return v.Trim();
        Wrong(node, path, what);
        return "";
    }

    static void Wrong(YamlNode node, string path, string what)
    {
        string got = node switch { YamlSequenceNode => "a list", YamlMappingNode => "a mapping", _ => "a single value" };
        throw At(node, $"{Key(path)}: expected {what}, got {got}");
    }

    static string Key(string path) => path.Length == 0 ? "the document" : path;
    static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";
    static StrictYamlException At(YamlNode node, string problem) => new(node.Start.Line, node.Start.Column, problem);
}
