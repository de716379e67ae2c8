using System.CommandLine;
using System.Globalization;
using Orchestrator.Cli.Hosting;
using Orchestrator.Experiments.Fitting;
using Spectre.Console;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// `orch fit --input POINTS.csv [--bootstrap N] [--budget FLOPS]... [--holdout largest|KEY,...] [--seed S] [--json]`:
/// fits L(N, D) = E + A/N^alpha + B/D^beta (Chinchilla approach 3) to any CSV of N,D,loss, says whether the fit is
/// identified, reports the compute-optimal N and D for each budget and, with --holdout, how well a fit without the
/// held-out points predicts them (and every point left out in turn). Progress goes to stderr.
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
        var holdout = new Option<string?>("--holdout")
        {
            Description = "Validate by prediction: 'largest' (the largest-compute point(s)) or comma-separated keys (the CSV's key column, else row2, row3, ...); fits without them, predicts them, and adds leave-one-out errors",
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON document" };
        var cmd = new Command("fit", "Fit L(N, D) = E + A/N^alpha + B/D^beta to a CSV of N,D,loss") { input, bootstrap, budgets, holdout, seed, json };
        CliAction.Set(cmd, (pr, ct) =>
        {
            int resamples = pr.GetValue(bootstrap);
            if (resamples < 0) throw new BadInputException($"--bootstrap {resamples}: give a number of resamples >= 0 (e.g. 1000)");
            var (points, keys) = PointsCsv.ReadKeyed(pr.GetValue(input)!);
            var flops = ParseBudgets(pr.GetValue(budgets)) ?? (points.Count > 0 ? FitDocument.DefaultBudgets(points) : []);
            var request = pr.GetValue(holdout) is { } h ? h.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [];
            if (pr.GetValue(holdout) is not null && request.Length == 0) throw new BadInputException("--holdout: give 'largest' or run keys");
            ScalingPoints.Validate(points, ChinchillaFitter.ParameterCount);
            var held = FitValidation.Resolve(request, keys, points); // before any fitting: a bad key fails at once
            var options = new ChinchillaFitOptions { Bootstrap = resamples, Seed = pr.GetValue(seed), Progress = FitProgressLine.Create() };
            var fit = ChinchillaFitter.Fit(points, options, ct);
            var verdict = FitIdentification.Judge(fit, points);
            HoldoutCheck? check = null;
            LeaveOneOut? loo = null;
            if (held.Count > 0)
            {
                check = FitValidation.Holdout(points, keys, held, options, ct);
                loo = FitValidation.LeaveOneOutErrors(points, keys, fit, ct: ct);
            }
            FitProgressLine.Clear();
            if (pr.GetValue(json)) JsonOutput.Write(FitDocument.Build(fit, flops, verdict, check, loo));
            else Print(fit, flops, verdict, check, loo);
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

    static void Print(ChinchillaFit fit, double[] budgets, FitVerdict verdict, HoldoutCheck? check, LeaveOneOut? loo)
    {
        var law = fit.Law;
        AnsiConsole.MarkupLine((verdict.Kind == FitVerdictKind.NotIdentified ? "[red]" : verdict.Identified ? "[green]" : "[yellow]") + Markup.Escape(verdict.Headline) + "[/]");
        foreach (var r in verdict.Reasons) AnsiConsole.MarkupLine("  - " + Markup.Escape(r));
        AnsiConsole.MarkupLine($"[bold]L(N, D) = {law.E:G4} + {law.A:G4}/N^{law.Alpha:F4} + {law.B:G4}/D^{law.Beta:F4}[/]{(verdict.Kind == FitVerdictKind.NotIdentified ? " (not identified: not a result)" : "")}");
        AnsiConsole.MarkupLine($"[grey]{fit.Points} points, {fit.ConvergedStarts}/{fit.Starts} starts converged, Huber objective {fit.Objective:G3}[/]");
        var ci = fit.Intervals;
        var table = new Table().AddColumn("parameter").AddColumn("value");
        if (ci is not null) table.AddColumn($"95% interval ({fit.BootstrapLaws.Count} resamples)");
        void Row(string name, double v, Interval? i) =>
            table.AddRow(ci is null ? [name, v.ToString("G5")] : [name, v.ToString("G5"), Markup.Escape(i!.Value.Format("G5"))]);
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
            string n = e.N is { } ni ? $"{e.Optimum.N:G3} {ni.Format("G3")}" : $"{e.Optimum.N:G3}";
            string d = e.D is { } di ? $"{e.Optimum.D:G3} {di.Format("G3")}" : $"{e.Optimum.D:G3}";
            string tpp = e.TokensPerParam is { } ti ? $"{e.TokensPerParamValue:F1} {ti.Format("F1")}" : $"{e.TokensPerParamValue:F1}";
            opt.AddRow($"{c:G3}", Markup.Escape(n), Markup.Escape(d), Markup.Escape(tpp), $"{e.Optimum.Loss:F4}");
        }
        AnsiConsole.MarkupLine("[bold]Compute-optimal allocation[/] (C = 6ND)");
        AnsiConsole.Write(opt);
        if (check is not null)
        {
            var t = new Table().AddColumns("held out", "N", "D", "predicted [[95%]]", "actual", "error");
            foreach (var p in check.Predictions)
                t.AddRow(Markup.Escape(p.Key), $"{p.Point.N:G3}", $"{p.Point.D:G3}",
                    Markup.Escape(p.PredictedInterval is { } i ? $"{p.Predicted:F4} {i.Format("F4")}" : $"{p.Predicted:F4}"),
                    $"{p.Point.Loss:F4}", $"{p.RelativeError:+0.00%;-0.00%}");
            AnsiConsole.MarkupLine($"[bold]Hold-out check[/]: the law fitted on the other {check.Fit.Points} points predicts");
            AnsiConsole.Write(t);
        }
        if (loo is not null)
            AnsiConsole.MarkupLine(Markup.Escape($"Leave-one-out over {loo.Predictions.Count} points: mean |error| {loo.MeanAbsRelativeError:P2}, worst {Math.Abs(loo.Worst.RelativeError):P2} ({loo.Worst.Key})"));
    }
}

/// <summary>
/// The fitter's progress on stderr (stdout stays clean for --json): a redrawn line on a terminal ("fit: starts
/// 64/4500, bootstrap 350/1000"); when stderr is redirected, one line per phase's end and at most one every 5 s.
/// </summary>
static class FitProgressLine
{
    static bool _drawn;

    public static Action<FitProgress> Create()
    {
        bool tty = !Console.IsErrorRedirected;
        var last = DateTime.MinValue;
        var gate = new object();
        return p =>
        {
            lock (gate)
            {
                string line = $"fit: {p.Phase} {p.Done}/{p.Total}";
                if (tty)
                {
                    Console.Error.Write("\r" + line.PadRight(40));
                    _drawn = true;
                }
                else if (p.Done == p.Total && p.Phase == "bootstrap" || DateTime.UtcNow - last > TimeSpan.FromSeconds(5))
                {
                    last = DateTime.UtcNow;
                    Console.Error.WriteLine(line);
                }
            }
        };
    }

    public static void Clear()
    {
        if (_drawn) Console.Error.Write("\r" + new string(' ', 40) + "\r");
        _drawn = false;
    }
}
