using System.Text;
using System.Text.RegularExpressions;

namespace Orchestrator.DataPipeline.Inputs;

/// <summary>
/// `--include` / `--exclude` patterns for folder inputs, matched against a file's path relative to the input folder
/// with '/' separators: `*` is any run of characters within one path segment, `?` one character, `**` any number of
/// segments (`**/tests/**`), and a pattern without '/' matches the file name in any folder (`*.py`, as .gitignore does).
/// Matching is ordinal (case-sensitive), as file systems on Linux are.
/// </summary>
public sealed class PathGlob
{
    readonly Regex _regex;
    readonly bool _nameOnly;

    public string Pattern { get; }

    public PathGlob(string pattern)
    {
        if (string.IsNullOrWhiteSpace(pattern)) throw new ArgumentException("an --include/--exclude pattern is empty");
        Pattern = pattern;
        _nameOnly = !pattern.Contains('/');
        _regex = new Regex("^" + ToRegex(pattern.TrimStart('/')) + "$", RegexOptions.CultureInvariant);
    }

    /// <summary>True when <paramref name="relativePath"/> ('/'-separated, relative to the input folder) matches.</summary>
    public bool IsMatch(string relativePath) =>
        _regex.IsMatch(_nameOnly ? relativePath[(relativePath.LastIndexOf('/') + 1)..] : relativePath);

    static string ToRegex(string glob)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < glob.Length; i++)
        {
            char c = glob[i];
            if (c == '*' && i + 1 < glob.Length && glob[i + 1] == '*')
            {
                bool slashAfter = i + 2 < glob.Length && glob[i + 2] == '/';
                sb.Append(slashAfter ? "(?:.*/)?" : ".*"); // "**/" is zero or more folders
                i += slashAfter ? 2 : 1;
            }
            else if (c == '*') sb.Append("[^/]*");
            else if (c == '?') sb.Append("[^/]");
            else sb.Append(Regex.Escape(c.ToString()));
        }
        return sb.ToString();
    }
}
