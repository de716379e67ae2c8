using System.CommandLine;
using System.Globalization;
using Orchestrator.Cli.Hosting;
using Orchestrator.Experiments.Fitting;
using Spectre.Console;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// `orch fit --input POINTS.csv [--bootstrap N] [--budget FLOPS]... [--seed S] [--json]`: fits
/// L(N, D) = E + A/N^alpha + B/D^beta (Chinchilla approach 3) to any CSV of N,D,loss and reports the compute-optimal
/// N and D for each budget.
/// </summary>
public static class FitCommand
{
    public static Command Create()
    {
        var input = new Option<string>("--input", "-i") { Description = "CSV with a header row and columns N,D,loss", Required = true };
        var bootstrap = new Option<int>("--bootstrap") { Description = "Bootstrap resamples for 95% intervals (e.g. 1000); 0 for none" };
        var budgets = new Option<string[]>("--budget")
        {
            Description = "FLOP budget C for the compute-optimal N*, D* (C = 6ND); repeatable; default: 10^k above the data's largest",
            AllowMultipleArgumentsPerToken = true,
        };
        var seed = new Option<int>("--seed") { Description = "Bootstrap seed", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print one JSON document" };
        var cmd = new Command("fit", "Fit L(N, D) = E + A/N^alpha + B/D^beta to a CSV of N,D,loss") { input, bootstrap, budgets, seed, json };
        CliAction.Set(cmd, (pr, ct) =>
        {
            int resamples = pr.GetValue(bootstrap);
            if (resamples < 0) throw new BadInputException($"--bootstrap {resamples}: give a number of resamples >= 0 (e.g. 1000)");
            var points = PointsCsv.Read(pr.GetValue(input)!);
            var flops = ParseBudgets(pr.GetValue(budgets)) ?? (points.Count > 0 ? FitDocument.DefaultBudgets(points) : []);
            var fit = ChinchillaFitter.Fit(points, new ChinchillaFitOptions { Bootstrap = resamples, Seed = pr.GetValue(seed) }, ct);
            if (pr.GetValue(json)) JsonOutput.Write(FitDocument.Build(fit, flops));
            else Print(fit, flops);
            return Task.FromResult(CliAction.Ok);
        });
        return cmd;
    }

    static double[]? ParseBudgets(string[]? values)
    {
        if (values is null || values.Length == 0) return null;
        return values.Select(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var c) && c > 0 && double.IsFinite(c)
            ? c
            : throw new BadInputException($"--budget '{v}': give a positive number of FLOPs, e.g. 1e21")).ToArray();
    }

    static void Print(ChinchillaFit fit, double[] budgets)
    {
        var law = fit.Law;
        AnsiConsole.MarkupLine($"[bold]L(N, D) = {law.E:G4} + {law.A:G4}/N^{law.Alpha:F4} + {law.B:G4}/D^{law.Beta:F4}[/]");
        AnsiConsole.MarkupLine($"[grey]{fit.Points} points, {fit.ConvergedStarts}/{fit.Starts} starts converged, Huber objective {fit.Objective:G3}[/]");
        var ci = fit.Intervals;
        var table = new Table().AddColumn("parameter").AddColumn("value");
        if (ci is not null) table.AddColumn($"95% interval ({fit.BootstrapLaws.Count} resamples)");
        void Row(string name, double v, Interval? i) =>
            table.AddRow(ci is null ? [name, v.ToString("G5")] : [name, v.ToString("G5"), Markup.Escape($"[{i!.Value.Lower:G5}, {i.Value.Upper:G5}]")]);
        Row("E", law.E, ci?.E);
        Row("A", law.A, ci?.A);
        Row("B", law.B, ci?.B);
        Row("alpha", law.Alpha, ci?.Alpha);
        Row("beta", law.Beta, ci?.Beta);
        AnsiConsole.Write(table);

        var opt = new Table().AddColumn("budget C (FLOPs)").AddColumn("N*").AddColumn("D*").AddColumn("tokens/param").AddColumn("loss");
        foreach (var c in budgets)
        {
            var e = fit.ComputeOptimal(c);
            string n = e.N is { } ni ? $"{e.Optimum.N:G3} [{ni.Lower:G3}, {ni.Upper:G3}]" : $"{e.Optimum.N:G3}";
            string d = e.D is { } di ? $"{e.Optimum.D:G3} [{di.Lower:G3}, {di.Upper:G3}]" : $"{e.Optimum.D:G3}";
            opt.AddRow($"{c:G3}", Markup.Escape(n), Markup.Escape(d), $"{e.Optimum.D / e.Optimum.N:F1}", $"{e.Optimum.Loss:F4}");
        }
        AnsiConsole.MarkupLine("[bold]Compute-optimal allocation[/] (C = 6ND)");
        AnsiConsole.Write(opt);
    }
}
