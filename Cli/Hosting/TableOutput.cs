using Spectre.Console;

namespace Orchestrator.Cli.Hosting;

/// <summary>
/// A listing (`run list`, `sweep list`, `workers list`): a table on a terminal; without one (piped, redirected), tab-
/// separated values: a header line, then exactly one line per row, markup removed, so `orch run list > runs.tsv` and
/// `| wc -l`, `cut`, `sort` work. Invariant: a TSV cell never holds a tab or a line break (both become spaces).
/// Cells are Spectre markup (escape user text with <see cref="Markup.Escape"/>).
/// </summary>
public sealed class TableOutput(params string[] headers)
{
    readonly List<string[]> rows = [];

    public void Add(params string[] cells)
    {
        if (cells.Length != headers.Length) throw new ArgumentException($"{cells.Length} cells for {headers.Length} columns");
        rows.Add(cells);
    }

    public void Write()
    {
        if (Console.IsOutputRedirected)
        {
            Console.Out.WriteLine(string.Join('\t', headers.Select(Cell)));
            foreach (var r in rows) Console.Out.WriteLine(string.Join('\t', r.Select(c => Cell(Markup.Remove(c)))));
            return;
        }
        var t = new Table().AddColumns(headers.Select(Markup.Escape).ToArray());
        foreach (var r in rows) t.AddRow(r);
        AnsiConsole.Write(t);
    }

    static string Cell(string s) => s.Replace('\t', ' ').ReplaceLineEndings(" ");
}
