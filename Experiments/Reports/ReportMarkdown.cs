using System.Text;
using Orchestrator.Experiments.Fitting;
using Orchestrator.Experiments.Reports.Plots;

namespace Orchestrator.Experiments.Reports;

/// <summary>
/// report.md: whether the fit is identified (in words, first), the fitted law with intervals, the hold-out and
/// leave-one-out checks, compute-optimal sizes, the runs table (with epochs of the corpus), the figures. A law the data
/// do not determine is shown as what the optimiser returned, never as a result.
/// </summary>
public static class ReportMarkdown
{
    public static string Build(SweepResults r, SweepAnalysis a, IReadOnlyList<ReportFigure> figures)
    {
        var md = new StringBuilder();
        md.AppendLine($"# Sweep {r.Name} ({r.Id})").AppendLine();
        md.AppendLine($"{a.Completed.Count} of {r.Runs.Count} runs completed.").AppendLine();
        // Which loss the law is fitted to: the runs' final val losses, unless a run logged no validation.
        string finalLoss = PlotStyle.FinalLossLabel(r.Runs.Where(x => x.FinalLoss is not null));
        string loss = finalLoss == "final val loss" ? "val loss" : "loss";
        if (finalLoss != "final val loss")
            md.AppendLine("Some runs logged no validation loss: their final loss is their last train loss (marked \"train\" in the runs table).").AppendLine();

        if (a.Chinchilla is { } fit)
        {
            var law = fit.Law;
            bool notIdentified = a.Verdict is { Kind: FitVerdictKind.NotIdentified };
            if (a.Verdict is { } verdict)
            {
                md.AppendLine("## Is the law identified?").AppendLine();
                md.AppendLine($"**{verdict.Headline}**").AppendLine();
                foreach (var reason in verdict.Reasons) md.AppendLine($"- {Capitalize(reason)}.");
                if (verdict.Reasons.Count > 0) md.AppendLine();
            }
            md.AppendLine(notIdentified ? "## Fitted law (Chinchilla approach 3): not identified, not a result" : "## Fitted law (Chinchilla approach 3)").AppendLine();
            if (notIdentified)
                md.AppendLine("What the optimiser returned, for diagnosis only: the data above do not determine these numbers.").AppendLine();
            md.AppendLine($"L(N, D) = {law.E:G4} + {law.A:G4} / N^{law.Alpha:F3} + {law.B:G4} / D^{law.Beta:F3}").AppendLine();
            md.AppendLine($"Huber loss (δ = 1e-3) on log loss, L-BFGS from {fit.Starts} starts ({fit.ConvergedStarts} converged).");
            if (fit.Intervals is { } ci)
            {
                md.AppendLine($" 95% intervals from {fit.BootstrapLaws.Count} bootstrap resamples.").AppendLine();
                md.AppendLine("| parameter | value | 95% interval |").AppendLine("|---|---|---|");
                Row(md, "E", law.E, ci.E);
                Row(md, "A", law.A, ci.A);
                Row(md, "B", law.B, ci.B);
                Row(md, "α", law.Alpha, ci.Alpha);
                Row(md, "β", law.Beta, ci.Beta);
            }
            ValidationMarkdown.Append(md, a);
            md.AppendLine().AppendLine(notIdentified ? "### Compute-optimal allocation (C = 6ND), from a law that is not identified" : "### Compute-optimal allocation (C = 6ND)").AppendLine();
            md.AppendLine($"| budget C (FLOPs) | N* | D* | tokens per parameter | predicted {loss} |").AppendLine("|---|---|---|---|---|");
            foreach (var c in a.Budgets)
            {
                var e = fit.ComputeOptimal(c);
                md.AppendLine($"| {c:G3} | {e.Optimum.N:G3}{Span(e.N)} | {e.Optimum.D:G3}{Span(e.D)} | {e.TokensPerParamValue:F1}{(e.TokensPerParam is { } t ? " " + t.Format("F1") : "")} | {e.Optimum.Loss:F4} |");
            }
            md.AppendLine();
        }

        if (a.LossVsN.Count + a.LossVsD.Count > 0)
        {
            md.AppendLine("## Single-axis power laws (Kaplan: L = (X_c / X)^α)").AppendLine();
            md.AppendLine("| axis | X_c | α | R² | points |").AppendLine("|---|---|---|---|---|");
            foreach (var p in a.LossVsN.Concat(a.LossVsD))
                md.AppendLine($"| {p.Axis} | {p.Scale:G3} | {p.Exponent:F4} | {p.RSquared:F3} | {p.Points} |");
            md.AppendLine();
        }

        if (a.IsoFlop is { } iso)
        {
            md.AppendLine("## IsoFLOP profiles (Chinchilla approach 2)").AppendLine();
            md.AppendLine($"| budget C | N* | D* | {loss} at N* | inside sizes tried |").AppendLine("|---|---|---|---|---|");
            foreach (var m in iso.Minima) md.AppendLine($"| {m.Flops:G3} | {m.OptimalN:G3} | {m.OptimalD:G3} | {m.Loss:F4} | {(m.IsInterior ? "yes" : "no")} |");
            if (iso.NExponent is { } an) md.AppendLine().AppendLine($"N* ∝ C^{an:F3}, D* ∝ C^{iso.DExponent:F3}");
            md.AppendLine();
        }

        if (BranchCost.Of(r) is { } cost)
        {
            md.AppendLine("## Cost of the cooldown branches").AppendLine();
            md.AppendLine($"{cost.Trunks} trunks at the stable LR and {cost.Branches} cooldown branches forked from them, against the same {cost.Branches} points trained from scratch.").AppendLine();
            md.AppendLine("| | branches | from scratch | saved |").AppendLine("|---|---|---|---|");
            md.AppendLine($"| FLOPs (6ND) | {cost.Flops:G4} | {cost.FlopsFromScratch:G4} | {cost.FlopSaving:P1} |");
            if (cost is { DeviceSeconds: { } secs, DeviceSecondsFromScratch: { } scratch })
                md.AppendLine($"| device-seconds | {secs:F1} | {scratch:F1} (estimated) | {1 - secs / scratch:P1} |");
            md.AppendLine().AppendLine("The fit uses the branches' final losses; a trunk's loss, at the stable LR, is not a point of the law.").AppendLine();
        }

        md.AppendLine("## Runs").AppendLine();
        bool branching = r.Runs.Any(x => x.Role != "Single");
        if (r.CorpusTrainTokens is { } unique) md.AppendLine($"The corpus holds {unique:G3} unique training tokens; epochs = D / that, and a run past 1 (⚠) saw repeated data.").AppendLine();
        md.AppendLine(branching ? $"| run | role | forked from | at tokens | state | N | D | epochs | FLOP budget | {finalLoss} | attempts |" : $"| run | state | N | D | epochs | FLOP budget | {finalLoss} | attempts |")
            .AppendLine(branching ? "|---|---|---|---|---|---|---|---|---|---|---|" : "|---|---|---|---|---|---|---|---|");
        foreach (var x in r.Runs)
            md.AppendLine($"| {x.Key} |{(branching ? $" {x.Role.ToLowerInvariant()} | {x.Parent} | {(x.ForkTokens is { } f ? f.ToString("G3") : "")} |" : "")} {x.State} | {x.N:G3} | {x.D:G3} | {Epochs(x.Epochs)} | {(x.FlopBudget is { } c ? c.ToString("G3") : "")} | {(x.FinalLoss is { } l ? l.ToString("F4") + (x.FinalLossIsVal ? "" : " (train)") : "")} | {x.Attempts} |");
        md.AppendLine();

        if (a.Notes.Count > 0)
        {
            md.AppendLine("## Notes").AppendLine();
            foreach (var n in a.Notes) md.AppendLine($"- {n}");
            md.AppendLine();
        }

        md.AppendLine("## Figures").AppendLine();
        foreach (var f in figures)
            md.AppendLine($"![{f.Name}]({f.Png})").AppendLine().AppendLine($"{f.Caption} ([svg]({f.Svg}))").AppendLine();
        return md.ToString();
    }

    static void Row(StringBuilder md, string name, double v, Interval i) => md.AppendLine($"| {name} | {v:G4} | {i.Format("G4")} |");

    static string Epochs(double? epochs) => epochs is { } ep ? (ep > 1 ? $"⚠ {ep:F2}" : $"{ep:F2}") : "";

    static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    static string Span(Interval? i) => i is { } x ? " " + x.Format("G3") : "";
}
