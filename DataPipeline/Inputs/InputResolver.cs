using System.Text.RegularExpressions;

namespace Orchestrator.DataPipeline.Inputs;

/// <summary>
/// Expands `--input PATH...` into files. Files are read by extension (.txt/.text/.md: text, .jsonl/.ndjson:
/// JSONL, .parquet: Parquet; other names given explicitly are read as text). Folders are walked recursively in
/// ordinal path order (deterministic output) for those extensions. A folder holding the Brown corpus
/// (cats.txt and ca01..cr09) is detected and read as Brown (tags stripped); `format: brown` forces it.
///
/// With include patterns (<see cref="PathGlob"/>: `*.py`, `src/**/*.md`), a folder yields exactly the files they
/// match, read by extension and otherwise as text (so `*.py` reads Python source); exclude patterns then drop files
/// (`**/tests/**`). Only paths are collected here (no file is opened), so a tree of any size resolves in memory
/// proportional to its file count.
/// </summary>
public static partial class InputResolver
{
    [GeneratedRegex(@"^c[a-r]\d\d$")]
    private static partial Regex BrownName();

    public static IReadOnlyList<InputFile> Resolve(IEnumerable<string> paths, string format = "auto",
        IReadOnlyList<string>? include = null, IReadOnlyList<string>? exclude = null)
    {
        var includes = (include ?? []).Select(p => new PathGlob(p)).ToList();
        var excludes = (exclude ?? []).Select(p => new PathGlob(p)).ToList();
        var forced = format.ToLowerInvariant() switch
        {
            "auto" => (InputFormat?)null,
            "text" or "txt" => InputFormat.Text,
            "jsonl" => InputFormat.Jsonl,
            "parquet" => InputFormat.Parquet,
            "brown" => InputFormat.Brown,
            _ => throw new ArgumentException($"unknown --format '{format}': use auto, text, jsonl, parquet or brown"),
        };
        var files = new List<InputFile>();
        var list = paths.ToList();
        if (list.Count == 0) throw new ArgumentException("no --input given: name .txt, .jsonl or .parquet files or folders");
        foreach (var p in list)
        {
            if (File.Exists(p)) files.Add(new InputFile(p, forced ?? ByExtension(p) ?? InputFormat.Text));
            else if (Directory.Exists(p)) files.AddRange(includes.Count + excludes.Count > 0 ? Filter(p, forced, includes, excludes) : Walk(p, forced));
            else throw new FileNotFoundException($"input '{p}' does not exist", p);
        }
        return files;
    }

    static IEnumerable<InputFile> Walk(string dir, InputFormat? forced)
    {
        var all = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetFileName(f).StartsWith('.'))
            .Order(StringComparer.Ordinal).ToList();
        List<InputFile> found;
        if (forced == InputFormat.Brown || (forced is null && IsBrown(dir)))
            found = all.Where(f => BrownName().IsMatch(Path.GetFileName(f))).Select(f => new InputFile(f, InputFormat.Brown)).ToList();
        else
            found = all.Select(f => (f, fmt: ByExtension(f)))
                .Where(x => x.fmt is not null && (forced is null || x.fmt == forced))
                .Select(x => new InputFile(x.f, x.fmt!.Value)).ToList();
        if (found.Count == 0)
            throw new DirectoryNotFoundException(forced == InputFormat.Brown
                ? $"folder '{dir}' has no Brown corpus files (ca01..cr09): run scripts/fetch-brown.sh"
                : $"folder '{dir}' has nothing to read: no .txt, .jsonl or .parquet files in it or below it");
        return found;
    }

    static List<InputFile> Filter(string dir, InputFormat? forced, List<PathGlob> includes, List<PathGlob> excludes)
    {
        var found = new List<InputFile>();
        foreach (var f in Directory.EnumerateFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.Hidden })
                     .Order(StringComparer.Ordinal))
        {
            var rel = Path.GetRelativePath(dir, f).Replace(Path.DirectorySeparatorChar, '/');
            if (rel.Split('/').Any(part => part.StartsWith('.'))) continue; // hidden files and folders (.git)
            var fmt = forced ?? ByExtension(f);
            bool included = includes.Count > 0 ? includes.Any(g => g.IsMatch(rel)) : fmt is not null;
            if (!included || excludes.Any(g => g.IsMatch(rel))) continue;
            found.Add(new InputFile(f, fmt ?? InputFormat.Text));
        }
        if (found.Count == 0)
            throw new DirectoryNotFoundException($"folder '{dir}' has no file matching --include {string.Join(" ", includes.Select(g => g.Pattern))}" +
                (excludes.Count > 0 ? $" and not --exclude {string.Join(" ", excludes.Select(g => g.Pattern))}" : ""));
        return found;
    }

    static bool IsBrown(string dir) =>
        File.Exists(Path.Combine(dir, "cats.txt")) && File.Exists(Path.Combine(dir, "ca01"));

    static InputFormat? ByExtension(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".txt" or ".text" or ".md" => InputFormat.Text,
        ".jsonl" or ".ndjson" => InputFormat.Jsonl,
        ".parquet" or ".pq" => InputFormat.Parquet,
        _ => null,
    };
}
