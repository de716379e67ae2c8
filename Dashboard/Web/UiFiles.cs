using System.Collections.Frozen;
using System.Reflection;

namespace Orchestrator.Dashboard.Web;

/// <summary>
/// The UI's files, embedded in this assembly at build time (ui/*.html|js|css and the chart library from npm). A request
/// names a file by its plain name and gets it only if that exact name is in this fixed set: no path is ever joined,
/// so "../", encoded slashes or absolute paths cannot reach anything else (they are simply not in the set: 404).
/// </summary>
public static class UiFiles
{
    const string Prefix = "ui/";

    static readonly FrozenDictionary<string, (byte[] Bytes, string ContentType)> files = Load();

    public static IReadOnlyCollection<string> Names => files.Keys;

    public static bool TryGet(string name, out byte[] bytes, out string contentType)
    {
        if (files.TryGetValue(name, out var f)) { bytes = f.Bytes; contentType = f.ContentType; return true; }
        bytes = []; contentType = "";
        return false;
    }

    static FrozenDictionary<string, (byte[], string)> Load()
    {
        var asm = Assembly.GetExecutingAssembly();
        var result = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var resource in asm.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var s = asm.GetManifestResourceStream(resource)!;
            using var m = new MemoryStream();
            s.CopyTo(m);
            var name = resource[Prefix.Length..];
            result[name] = (m.ToArray(), ContentType(name));
        }
        if (!result.ContainsKey("index.html") || !result.ContainsKey("uPlot.iife.min.js"))
            throw new InvalidOperationException("the dashboard's UI is missing from the build (Dashboard/ui: index.html, uPlot)");
        return result.ToFrozenDictionary(StringComparer.Ordinal);
    }

    static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    };
}
