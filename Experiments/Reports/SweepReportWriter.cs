using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Orchestrator.Experiments.Fitting;
using Orchestrator.Experiments.Reports.Plots;

namespace Orchestrator.Experiments.Reports;

/// <summary>
/// Writes report.md, report.json and the plots (PNG + SVG) into a new folder. Everything is built in a sibling temp
/// folder and renamed into place at the end, so a crash leaves no half report, and an existing report is never
/// overwritten.
/// </summary>
public static class SweepReportWriter
{
    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Returns the report's folder; throws <see cref="IOException"/> if <paramref name="outDir"/> already holds files.</summary>
    public static string Write(SweepResults results, SweepAnalysis analysis, string outDir)
    {
        outDir = Path.GetFullPath(outDir);
        if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
            throw new IOException($"report folder '{outDir}' is not empty: give a new --out folder (reports are never overwritten)");
        string parent = Path.GetDirectoryName(outDir)!;
        Directory.CreateDirectory(parent);
        string staging = Path.Combine(parent, $".{Path.GetFileName(outDir)}.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            var figures = ReportFigures.Write(results, analysis, staging);
            File.WriteAllText(Path.Combine(staging, "report.md"), ReportMarkdown.Build(results, analysis, figures));
            File.WriteAllText(Path.Combine(staging, "report.json"), JsonSerializer.Serialize(JsonDocument(results, analysis, figures), Json));
            if (Directory.Exists(outDir)) Directory.Delete(outDir); // empty, checked above
            Directory.Move(staging, outDir);
            return outDir;
        }
        catch
        {
            Directory.Delete(staging, recursive: true);
            throw;
        }
    }

    static Dictionary<string, object?> JsonDocument(SweepResults r, SweepAnalysis a, IReadOnlyList<ReportFigure> figures) => new()
    {
        ["id"] = r.Id,
        ["name"] = r.Name,
        ["runs"] = r.Runs.Select(x => new Dictionary<string, object?>
        {
            ["key"] = x.Key, ["state"] = x.State, ["n"] = x.N, ["d"] = x.D, ["flop_budget"] = x.FlopBudget,
            ["final_loss"] = x.FinalLoss, ["final_loss_kind"] = x.FinalLoss is null ? null : x.FinalLossIsVal ? "val" : "train", ["attempts"] = x.Attempts, ["role"] = x.Role.ToLowerInvariant(), ["parent"] = x.Parent,
            ["fork_tokens"] = x.ForkTokens, ["device_seconds"] = x.DeviceSeconds, ["epochs"] = x.Epochs,
        }).ToList(),
        ["branch_cost"] = BranchCost.Of(r) is { } cost ? new Dictionary<string, object?>
        {
            ["flops"] = cost.Flops, ["flops_from_scratch"] = cost.FlopsFromScratch, ["device_seconds"] = cost.DeviceSeconds,
            ["device_seconds_from_scratch_estimated"] = cost.DeviceSecondsFromScratch, ["trunks"] = cost.Trunks, ["branches"] = cost.Branches,
        } : null,
        ["corpus_train_tokens"] = r.CorpusTrainTokens,
        ["fit"] = a.Chinchilla is { } fit ? FitDocument.Build(fit, a.Budgets, a.Verdict, a.Holdout, a.LeaveOneOut) : null,
        ["kaplan"] = a.LossVsN.Concat(a.LossVsD).Select(p => new Dictionary<string, object?>
        {
            ["axis"] = p.Axis, ["scale"] = p.Scale, ["exponent"] = p.Exponent, ["r_squared"] = p.RSquared, ["points"] = p.Points,
        }).ToList(),
        ["isoflop"] = a.IsoFlop is { } iso ? new Dictionary<string, object?>
        {
            ["minima"] = iso.Minima.Select(m => new Dictionary<string, object?>
            {
                ["flops"] = m.Flops, ["n"] = m.OptimalN, ["d"] = m.OptimalD, ["loss"] = m.Loss, ["interior"] = m.IsInterior,
            }).ToList(),
            ["n_exponent"] = iso.NExponent,
            ["d_exponent"] = iso.DExponent,
        } : null,
        ["notes"] = a.Notes,
        ["frontier"] = ComputeFrontier.Of(a.Completed).Select(p => new Dictionary<string, object?>
        {
            ["key"] = p.Key, ["n"] = p.N, ["flops"] = p.Flops, ["loss"] = p.Loss,
        }).ToList(),
        ["plots"] = figures.SelectMany(f => new[] { f.Png, f.Svg }).ToList(),
        ["figures"] = figures.Select(f => new Dictionary<string, object?>
        {
            ["name"] = f.Name, ["png"] = f.Png, ["svg"] = f.Svg, ["caption"] = f.Caption,
        }).ToList(),
    };
}
