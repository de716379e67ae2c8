using System.Text.Json;
using System.Xml.Linq;
using Orchestrator.Experiments.Reports;
using Orchestrator.Experiments.Reports.Plots;
using Orchestrator.Experiments.Sweeps;
using SkiaSharp;

namespace Orchestrator.Tests.Experiments.Reports;

/// <summary>
/// The report's figures from a finished sweep's folder with realistic histories (thinned, val every 100 steps, a
/// cosine LR): every figure is written and drawn, says train or val, and report.md and report.json name them.
/// </summary>
public sealed class ReportFiguresTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("orch-figures-").FullName;

    public void Dispose() { if (Environment.GetEnvironmentVariable("ORCH_KEEP_TEST_REPORT") is null) Directory.Delete(_dir, recursive: true); }

    static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    (string Report, SweepResults Results) Report(int? noValRun = null)
    {
        string folder = SweepFolders.Detailed(Path.Combine(_dir, "sweeps"), noValRun: noValRun);
        var results = SweepFolder.LoadResults(SweepFolder.ReadStatus(folder));
        string report = SweepReportWriter.Write(results, SweepAnalysis.Analyze(results, bootstrap: 20), Path.Combine(_dir, "report"));
        return (report, results);
    }

    static List<string> Texts(string svg) => [.. XDocument.Load(svg).Descendants(Svg + "text").Select(t => t.Value.Trim())];

    /// <summary>Pixels of <paramref name="bitmap"/> within a few levels of <paramref name="c"/> (lines are antialiased at their edges).</summary>
    static int PixelsOf(SKBitmap bitmap, ScottPlot.Color c)
    {
        int count = 0;
        for (int y = 0; y < bitmap.Height; y++)
        for (int x = 0; x < bitmap.Width; x++)
        {
            var p = bitmap.GetPixel(x, y);
            if (Math.Abs(p.Red - c.R) <= 6 && Math.Abs(p.Green - c.G) <= 6 && Math.Abs(p.Blue - c.B) <= 6) count++;
        }
        return count;
    }

    [Fact]
    public void Every_figure_is_drawn_named_and_captioned()
    {
        var (report, results) = Report();
        string[] expected = ["loss_curves", "val_loss_curves", "loss_vs_flops", "loss_vs_n", "residuals", "lr_curves", "throughput"];
        var sizeColors = PlotStyle.SizeColors(results.Runs);
        Assert.Equal(3, sizeColors.Count);
        foreach (var name in expected)
        {
            using var png = SKBitmap.Decode(Path.Combine(report, name + ".png"));
            Assert.NotNull(png);
            // 3 sizes: the loss curves are three panels of 600 x 420 in two columns; the other figures one plot.
            (int w, int h) = name == "loss_curves" ? (1200, 840) : (PlotWriter.Width, PlotWriter.Height);
            Assert.Equal((w, h), (png.Width, png.Height));
            // Every size's colour is drawn (a curve of each N is visible) where sizes differ. (The fixture's runs share
            // one LR schedule and one throughput: those curves lie on each other, the largest N's on top.)
            if (name is "loss_curves" or "val_loss_curves" or "loss_vs_flops")
                foreach (var (n, color) in sizeColors)
                    Assert.True(PixelsOf(png, color) >= 20, $"{name}.png: N = {n:G3} ({color}) has {PixelsOf(png, color)} pixels of its colour");
            Assert.Contains("<svg", File.ReadAllText(Path.Combine(report, name + ".svg")));
        }
        Assert.False(File.Exists(Path.Combine(report, "isoflop.png"))); // no FLOP budgets in this sweep

        // Labels say which loss: the smoothing's width on the train axis, val on the val axis, "final val loss" for the law's points.
        var curves = Texts(Path.Combine(report, "loss_curves.svg"));
        Assert.Contains("train loss (mean over ±20 steps; raw faint)", curves); // reports every 10 steps
        Assert.Equal(["N = 9.83E+04", "N = 9.95E+05", "N = 9.98E+06"], curves.Where(t => t.StartsWith("N = ")).ToArray());
        Assert.Contains("D = 1E+07", curves.Select(t => t.Length > 9 ? t[..9] : t));
        Assert.Contains("val loss", Texts(Path.Combine(report, "val_loss_curves.svg")));
        var flops = Texts(Path.Combine(report, "loss_vs_flops.svg"));
        Assert.Contains("final val loss", flops);
        Assert.Contains("compute-optimal frontier (lower envelope)", flops);
        // 6 runs for 5 parameters: the law is drawn, and named as not identified.
        Assert.Contains("fitted law at N*(C), D*(C): not identified", flops);
        Assert.Contains("final val loss", Texts(Path.Combine(report, "loss_vs_n.svg")));
        foreach (var name in new[] { "val_loss_curves", "lr_curves", "throughput" })
            Assert.Equal(["N = 9.83E+04", "N = 9.95E+05", "N = 9.98E+06"], Texts(Path.Combine(report, name + ".svg")).Where(t => t.StartsWith("N = ")).ToArray());

        string md = File.ReadAllText(Path.Combine(report, "report.md"));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "report.json")));
        var figures = json.RootElement.GetProperty("figures").EnumerateArray().ToList();
        Assert.Equal(expected, figures.Select(f => f.GetProperty("name").GetString()).ToArray());
        foreach (var f in figures)
        {
            string name = f.GetProperty("name").GetString()!, caption = f.GetProperty("caption").GetString()!;
            Assert.Equal(name + ".png", f.GetProperty("png").GetString());
            // The image, then its one-line caption with the SVG link.
            Assert.Contains($"![{name}]({name}.png)\n\n{caption} ([svg]({name}.svg))\n", md.ReplaceLineEndings("\n"));
        }
        Assert.Contains("| run | state | N | D | epochs | FLOP budget | final val loss | attempts |", md);
        Assert.Contains("| predicted val loss | actual val loss | error |", md);
        Assert.All(json.RootElement.GetProperty("runs").EnumerateArray(), r => Assert.Equal("val", r.GetProperty("final_loss_kind").GetString()));
    }

    [Fact]
    public void The_frontier_is_the_lower_envelope_of_loss_against_compute()
    {
        var (report, _) = Report();
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "report.json")));
        var runs = json.RootElement.GetProperty("runs").EnumerateArray()
            .Select(r => (Key: r.GetProperty("key").GetString()!, C: 6.0 * r.GetProperty("n").GetInt64() * r.GetProperty("d").GetInt64(), L: r.GetProperty("final_loss").GetDouble()))
            .ToList();
        // On the envelope: no other run reaches as low a loss with as little compute.
        var envelope = runs.Where(p => !runs.Any(q => q.Key != p.Key && q.C <= p.C && q.L <= p.L)).OrderBy(p => p.C).ToList();
        var frontier = json.RootElement.GetProperty("frontier").EnumerateArray().ToList();
        Assert.Equal(envelope.Select(p => p.Key).ToArray(), frontier.Select(f => f.GetProperty("key").GetString()).ToArray());
        Assert.Equal(envelope.Select(p => p.L).ToArray(), frontier.Select(f => f.GetProperty("loss").GetDouble()).ToArray());
        Assert.InRange(envelope.Count, 2, runs.Count - 1); // a real envelope: some runs on it, some above it
    }

    [Fact]
    public void A_run_without_validation_has_its_train_loss_labelled_train()
    {
        var (report, results) = Report(noValRun: 2);
        Assert.Equal([true, true, false, true, true, true], results.Runs.Select(r => r.FinalLossIsVal).ToArray());
        string md = File.ReadAllText(Path.Combine(report, "report.md"));
        Assert.Contains("| final loss (val; train where a run had no val) | attempts |", md);
        Assert.Contains(" (train) | 1 |", md);
        Assert.Contains("final loss (val; train where a run had no val)", Texts(Path.Combine(report, "loss_vs_flops.svg")));
    }

    static Sample S(int step, int window, double y = 1) => new(step, window, step, y);

    [Fact]
    public void Segments_split_where_no_report_covers_the_steps()
    {
        // Windows of 10: 10..30 contiguous; 50 leaves 31..40 uncovered (thinned out); 70 likewise; then dense again.
        var thinned = new[] { S(10, 10), S(20, 10), S(30, 10), S(50, 10), S(70, 10), S(80, 10), S(90, 10) };
        Assert.Equal([[10, 20, 30], [50], [70, 80, 90]], Steps(CurveSegments.Split(thinned)));
        // A restart from a checkpoint repeats steps: the line does not run back.
        var restarted = new[] { S(10, 10), S(20, 10), S(30, 10), S(20, 10), S(30, 10) };
        Assert.Equal([[10, 20, 30], [20, 30]], Steps(CurveSegments.Split(restarted)));
        // No window recorded (older files, or val every 100 steps): the smallest spacing is the sampling step.
        var val = new[] { S(100, 0), S(200, 0), S(300, 0), S(500, 0), S(600, 0) };
        Assert.Equal(100, CurveSegments.BaseStep(val));
        Assert.Equal([[100, 200, 300], [500, 600]], Steps(CurveSegments.Split(val)));
        Assert.Empty(CurveSegments.Split([]));
        Assert.Equal([[7]], Steps(CurveSegments.Split([S(7, 1)])));
    }

    [Fact]
    public void The_smoothing_is_a_centred_mean_that_narrows_at_the_ends()
    {
        var seg = new[] { S(10, 10, 1), S(20, 10, 2), S(30, 10, 6), S(40, 10, 3), S(50, 10, 8), S(60, 10, 4) };
        var mean = CurveSegments.CentredMean(seg, halfWidthSteps: 20);
        // Ends unsmoothed; step 20 one sample each side (one lies left of it); 30 and 40 two each side; 50 one.
        Assert.Equal([1, (1 + 2 + 6) / 3.0, (1 + 2 + 6 + 3 + 8) / 5.0, (2 + 6 + 3 + 8 + 4) / 5.0, (3 + 8 + 4) / 3.0, 4], mean.Select(s => s.Y).ToArray());
        Assert.Equal([10.0, 20, 30, 40, 50, 60], mean.Select(s => s.X).ToArray());
        // Uneven spacing: at step 30 two samples lie within 20 steps on the right, one on the left: one each side.
        var thin = new[] { S(10, 10, 1), S(30, 10, 3), S(40, 10, 4), S(50, 10, 5) };
        Assert.Equal([1, (1 + 3 + 4) / 3.0, (3 + 4 + 5) / 3.0, 5], CurveSegments.CentredMean(thin, 20).Select(s => s.Y).ToArray());
        Assert.Equal(seg.Select(s => s.Y).ToArray(), CurveSegments.CentredMean(seg, 0).Select(s => s.Y).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => CurveSegments.CentredMean(seg, -1));
    }

    static int[][] Steps(IReadOnlyList<IReadOnlyList<Sample>> segments) => [.. segments.Select(s => s.Select(x => x.Step).ToArray())];
}
