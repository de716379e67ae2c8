using System.Diagnostics;
using System.Xml.Linq;
using Orchestrator.Experiments.Reports;
using ScottPlot;
using Xunit.Abstractions;

namespace Orchestrator.Tests.Experiments.Reports;

/// <summary>
/// Report plots carry their own font (DejaVu Sans embedded in the Experiments assembly), so they have text on machines
/// with no fonts installed, where ScottPlot would otherwise draw none.
/// </summary>
public sealed class ReportFontsTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("orch-fonts-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    /// <summary>Every &lt;text&gt; element of an SVG file: (font-family, the text).</summary>
    static List<(string Family, string Text)> Texts(string svgPath) =>
        XDocument.Load(svgPath).Descendants(Svg + "text")
            .Select(t => ((string?)t.Attribute("font-family") ?? "", t.Value.Trim())).ToList();

    [Fact]
    public void Plots_use_the_embedded_font_for_every_text()
    {
        Assert.True(ReportFonts.IsEmbedded, "built without DejaVuSans.ttf: install fonts-dejavu-core (scripts/setup.sh) and rebuild");
        Assert.Equal("DejaVu Sans", ReportFonts.Family);

        var plot = PlotWriter.New("Probe title", "probe x label", "probe y label", logX: true);
        plot.Add.ScatterLine(new double[] { 5, 6, 7 }, new double[] { 3, 2, 1 }).LegendText = "series one";
        plot.Add.ScatterPoints(new double[] { 5, 6, 7 }, new double[] { 1, 2, 3 }).LegendText = "series two";
        PlotWriter.Save(plot, _dir, "probe");

        // The plot ends up asking for the embedded family everywhere it draws text...
        Assert.Equal("DejaVu Sans", plot.Axes.Title.Label.FontName);
        Assert.True(plot.Axes.Title.Label.Bold);
        foreach (var axis in plot.Axes.GetAxes())
        {
            Assert.Equal("DejaVu Sans", axis.Label.FontName);
            Assert.Equal("DejaVu Sans", axis.TickLabelStyle.FontName);
        }
        Assert.Equal("DejaVu Sans", plot.Legend.FontName);
        // ...and that name resolves to the typeface read from the assembly, not to a system font of the same name.
        Assert.Same(ReportFonts.Regular, Fonts.GetTypeface("DejaVu Sans", bold: false, italic: false));
        var bold = Fonts.GetTypeface("DejaVu Sans", bold: true, italic: false);
        Assert.NotSame(ReportFonts.Regular, bold);
        Assert.True(bold.IsBold);

        // The SVG holds the title, the axis labels, tick labels and the legend as text in that family.
        var texts = Texts(Path.Combine(_dir, "probe.svg"));
        Assert.All(texts, t => Assert.Equal("DejaVu Sans", t.Family));
        var all = texts.Select(t => t.Text).ToList();
        foreach (var expected in new[] { "Probe title", "probe x label", "probe y label", "series one", "series two" })
            Assert.Contains(expected, all);
        Assert.True(texts.Count >= 10, $"only {texts.Count} text elements: {string.Join(" | ", all)}");
    }

    /// <summary>
    /// The real `orch sweep report` in a mount namespace where an empty folder hides /usr/share/fonts (the only place
    /// Skia looks for fonts): the plots still have their text. Needs unprivileged user namespaces (`unshare -rm`);
    /// where they are not allowed the test says so and checks nothing.
    /// </summary>
    [Fact]
    public async Task A_report_rendered_where_no_fonts_are_installed_has_text()
    {
        string empty = Directory.CreateDirectory(Path.Combine(_dir, "no-fonts")).FullName;
        var probe = await Shell(TimeSpan.FromSeconds(30), "unshare", "-rm", "sh", "-c",
            "mount --bind \"$1\" /usr/share/fonts && test -z \"$(ls -A /usr/share/fonts)\"", "sh", empty);
        if (probe.Code != 0)
        {
            output.WriteLine($"not checked: cannot hide /usr/share/fonts here (unshare -rm: exit {probe.Code}: {probe.Stderr.Trim()})");
            return;
        }

        string folder = SweepFolders.Completed(Path.Combine(_dir, "sweeps"));
        string report = Path.Combine(_dir, "report");
        string dll = Path.Combine(AppContext.BaseDirectory, "Orchestrator.Cli.dll");
        var run = await Shell(TimeSpan.FromMinutes(2), "unshare", "-rm", "sh", "-c",
            "mount --bind \"$1\" /usr/share/fonts && test -z \"$(ls -A /usr/share/fonts)\" && exec dotnet \"$2\" sweep report --folder \"$3\" --out \"$4\" --bootstrap 0",
            "sh", empty, dll, folder, report);
        Assert.True(run.Code == 0, $"exit {run.Code}\n{run.Stdout}\n{run.Stderr}");

        foreach (var name in new[] { "loss_curves", "loss_vs_n", "residuals" })
        {
            var texts = Texts(Path.Combine(report, name + ".svg"));
            Assert.True(texts.Count >= 10, $"{name}.svg has {texts.Count} text elements");
            Assert.All(texts, t => Assert.Equal("DejaVu Sans", t.Family));
        }
        Assert.Contains(("DejaVu Sans", "Final val loss vs model size"), Texts(Path.Combine(report, "loss_vs_n.svg")));
    }

    static async Task<(int Code, string Stdout, string Stderr)> Shell(TimeSpan timeout, string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e) { return (-1, "", e.Message); }
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(timeout);
            await p.WaitForExitAsync(cts.Token);
            return (p.ExitCode, await stdout, await stderr);
        }
    }
}
