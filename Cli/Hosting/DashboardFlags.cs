using System.CommandLine;
using Orchestrator.Dashboard.Web;

namespace Orchestrator.Cli.Hosting;

/// <summary>The dashboard's flags, shared by `orch coordinator`, `orch local` (which hands them to its coordinator) and quickstart.</summary>
static class DashboardFlags
{
    public static readonly Option<int> Port = new("--web-port")
    { Description = "Web dashboard and JSON API port (0: off)", DefaultValueFactory = _ => DashboardOptions.DefaultPort };
    public static readonly Option<string?> Bind = new("--web-bind")
    { Description = "Address the dashboard listens on (default 127.0.0.1; any other needs --web-token or --web-token-file)" };
    public static readonly Option<string?> Token = new("--web-token")
    { Description = "Token every dashboard request must carry (Authorization: Bearer, or ?token= once in the browser)" };
    public static readonly Option<string?> TokenFile = new("--web-token-file")
    { Description = "File holding the dashboard token (one line; keeps it out of the process list)" };

    public static IEnumerable<Option> All => [Port, Bind, Token, TokenFile];

    /// <summary>Checked before anything starts (ArgumentException: exit 2).</summary>
    public static DashboardOptions Parse(ParseResult pr) =>
        DashboardOptions.Parse(pr.GetValue(Port), pr.GetValue(Bind), pr.GetValue(Token), pr.GetValue(TokenFile));

    /// <summary>No --web-port given: the coordinator may fall back to a free port when the default one is taken.</summary>
    public static bool IsDefaultPort(ParseResult pr) => pr.GetResult(Port) is null or { Implicit: true };

    /// <summary>The same flags for a child coordinator process (the port only when asked for, so the child may fall back).</summary>
    public static string[] Args(ParseResult pr) =>
    [
        .. IsDefaultPort(pr) ? [] : new[] { "--web-port", $"{pr.GetValue(Port)}" },
        .. pr.GetValue(Bind) is { } b ? new[] { "--web-bind", b } : [],
        .. pr.GetValue(Token) is { } t ? new[] { "--web-token", t } : [],
        .. pr.GetValue(TokenFile) is { } f ? new[] { "--web-token-file", Path.GetFullPath(f) } : [],
    ];

    /// <summary>The ", dashboard URL ..." part of a coordinator's "coordinator up:" line ("" if it has none).</summary>
    public static string DescribedIn(string line)
    {
        int i = line.IndexOf(", dashboard ", StringComparison.Ordinal);
        return i < 0 ? "" : line[i..];
    }

    /// <summary>What to print so a person can open it (the token itself is never printed).</summary>
    public static string Describe(DashboardOptions o) =>
        !o.Enabled ? "" : $", dashboard {o.Url}" + (o.Token is null ? "" : " (token required: append ?token=TOKEN)");
}
