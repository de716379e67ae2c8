using System.Text;

namespace Orchestrator.Experiments.Reports;

/// <summary>
/// The report's validation sections: the held-out runs as predicted by the law fitted without them (prediction, its
/// 95% interval over the bootstrap laws, the actual loss, the error), and the leave-one-out errors over every run.
/// </summary>
static class ValidationMarkdown
{
    public static void Append(StringBuilder md, SweepAnalysis a)
    {
        string loss = a.Completed.All(r => r.FinalLossIsVal) ? "val loss" : "loss";
        if (a.Holdout is { } h)
        {
            md.AppendLine().AppendLine("### Hold-out check: does the law predict runs it has not seen?").AppendLine();
            md.AppendLine($"Fitted on the other {h.Fit.Points} runs: L(N, D) = {h.Fit.Law.E:G4} + {h.Fit.Law.A:G4} / N^{h.Fit.Law.Alpha:F3} + {h.Fit.Law.B:G4} / D^{h.Fit.Law.Beta:F3}.").AppendLine();
            md.AppendLine($"| held-out run | N | D | predicted {loss} [95%] | actual {loss} | error |").AppendLine("|---|---|---|---|---|---|");
            foreach (var p in h.Predictions)
                md.AppendLine($"| {p.Key} | {p.Point.N:G3} | {p.Point.D:G3} | {p.Predicted:F4}{(p.PredictedInterval is { } i ? " " + i.Format("F4") : "")} | {p.Point.Loss:F4} | {p.RelativeError:+0.00%;-0.00%} |");
            md.AppendLine();
            foreach (var p in h.Predictions)
                md.AppendLine($"- {p.Key}: predicted {p.Predicted:F4}, actual {p.Point.Loss:F4}, off by {Math.Abs(p.RelativeError):P2}" +
                    (p.PredictedInterval is null ? "." : p.InsideInterval ? "; the actual loss is inside the 95% interval." : "; the actual loss is OUTSIDE the 95% interval."));
            md.AppendLine();
        }
        if (a.LeaveOneOut is { } loo)
        {
            md.AppendLine("### Leave-one-out errors").AppendLine();
            md.AppendLine($"Each of the {loo.Predictions.Count} runs predicted by the law refitted without it: mean |error| {loo.MeanAbsRelativeError:P2}, worst {Math.Abs(loo.Worst.RelativeError):P2} ({loo.Worst.Key}).").AppendLine();
            md.AppendLine($"| run | N | D | predicted {loss} | actual {loss} | error |").AppendLine("|---|---|---|---|---|---|");
            foreach (var p in loo.Predictions)
                md.AppendLine($"| {p.Key} | {p.Point.N:G3} | {p.Point.D:G3} | {p.Predicted:F4} | {p.Point.Loss:F4} | {p.RelativeError:+0.00%;-0.00%} |");
            md.AppendLine();
        }
    }
}
