using System.Text.Json;
using Orchestrator.Experiments.Fitting;
using Orchestrator.Experiments.Reports;

namespace Orchestrator.Tests.Experiments.Reports;

public sealed class SweepReportWriterTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("orch-report-").FullName;

    public void Dispose() { if (Environment.GetEnvironmentVariable("ORCH_KEEP_TEST_REPORT") is null) Directory.Delete(_dir, recursive: true); }

    static SweepResults Synthetic()
    {
        var law = ChinchillaLaw.Chinchilla;
        var runs = new List<RunResult>();
        long[] sizes = [1_000_000, 3_000_000, 10_000_000, 30_000_000];
        foreach (long n in sizes)
        foreach (long d in new long[] { 100_000_000, 1_000_000_000 })
            runs.Add(Run(law, n, d, null));
        foreach (double c in new[] { 1e16, 1e17 })
        foreach (long n in sizes)
            runs.Add(Run(law, n, (long)(c / (6.0 * n)), c));
        runs.Add(new RunResult("broken", "Failed", 5_000_000, 1_000_000, null, null, 3, []));
        return new SweepResults("s-1", "synthetic", runs, [1e20]);
    }

    static RunResult Run(ChinchillaLaw law, long n, long d, double? c)
    {
        double final = law.Predict(n, d);
        var curve = Enumerable.Range(1, 10).Select(k => new CurvePoint(k * 10, d * k / 10, final + 2.0 / k)).ToList();
        return new RunResult($"n{n}-d{d}", "Completed", n, d, c, final, 1, curve);
    }

    [Fact]
    public void Writes_markdown_json_and_every_plot_as_png_and_svg()
    {
        var results = Synthetic();
        var analysis = SweepAnalysis.Analyze(results, bootstrap: 50);
        string outDir = SweepReportWriter.Write(results, analysis, Path.Combine(_dir, "report"));

        string[] figures = ["loss_curves", "loss_vs_n", "isoflop", "residuals"];
        foreach (var f in figures)
        {
            var png = File.ReadAllBytes(Path.Combine(outDir, f + ".png"));
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
            Assert.Contains("<svg", File.ReadAllText(Path.Combine(outDir, f + ".svg")));
        }
        // 16 curves: one panel per size, titled with it, not 16 run keys.
        var curveTexts = System.Xml.Linq.XDocument.Load(Path.Combine(outDir, "loss_curves.svg"))
            .Descendants((System.Xml.Linq.XNamespace)"http://www.w3.org/2000/svg" + "text").Select(t => t.Value.Trim()).ToList();
        Assert.Equal(["N = 1E+06", "N = 3E+06", "N = 1E+07", "N = 3E+07"], curveTexts.Where(t => t.StartsWith("N = ")).ToArray()); // one panel per size
        Assert.DoesNotContain(curveTexts, t => t.StartsWith("n1000000-"));
        string md = File.ReadAllText(Path.Combine(outDir, "report.md"));
        Assert.Contains("## Fitted law (Chinchilla approach 3)", md);
        Assert.Contains("![isoflop](isoflop.png)", md);
        Assert.Contains("1 of 17 runs have no final loss", md);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "report.json")));
        var fit = json.RootElement.GetProperty("fit");
        Assert.Equal(0.34, fit.GetProperty("alpha").GetDouble(), 0.01);
        Assert.Equal(0.28, fit.GetProperty("beta").GetDouble(), 0.01);
        Assert.Equal(2, fit.GetProperty("intervals").GetProperty("E").GetArrayLength());
        Assert.Equal(2, json.RootElement.GetProperty("isoflop").GetProperty("minima").GetArrayLength());
        Assert.Equal(17, json.RootElement.GetProperty("runs").GetArrayLength());
        Assert.Empty(Directory.GetDirectories(_dir, ".report.tmp-*"));
    }

    [Fact]
    public void Never_overwrites_an_existing_report()
    {
        string outDir = Path.Combine(_dir, "taken");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "report.md"), "mine");
        var results = Synthetic();
        var e = Assert.Throws<IOException>(() => SweepReportWriter.Write(results, SweepAnalysis.Analyze(results, 0), outDir));
        Assert.Contains("is not empty: give a new --out folder", e.Message);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(outDir, "report.md")));
    }
}
