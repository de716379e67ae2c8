using ScottPlot;

namespace Orchestrator.Experiments.Reports;

/// <summary>
/// ScottPlot figures saved as PNG and SVG side by side. Log axes are drawn as log10 of the data with ticks
/// labelled 1e{k} (ScottPlot 5 has no native log axis). Every text element uses <see cref="ReportFonts.Family"/>
/// (the font embedded in this assembly), so plots have text on machines without fonts.
/// </summary>
public static class PlotWriter
{
    public const int Width = 900, Height = 600;

    public static Plot New(string title, string xLabel, string yLabel, bool logX)
    {
        ReportFonts.Register(); // before ScottPlot resolves (and caches) any typeface
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        if (logX)
        {
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
            {
                LabelFormatter = v => $"{Math.Pow(10, v):G2}",
            };
        }
        ReportFonts.Apply(plot);
        return plot;
    }

    /// <summary>
    /// Saves name.png and name.svg in <paramref name="dir"/>; returns the two file names. The legend sits in the upper
    /// right corner, or beside the plot with <paramref name="legendOutside"/> (where data fills that corner).
    /// </summary>
    public static string[] Save(Plot plot, string dir, string name, bool legendOutside = false)
    {
        if (plot.GetPlottables().Count() > 1)
        {
            if (legendOutside) plot.ShowLegend(Edge.Right);
            else plot.ShowLegend(Alignment.UpperRight);
        }
        ReportFonts.Apply(plot); // again: the legend and any axis added since New() get the font too
        plot.SavePng(Path.Combine(dir, name + ".png"), Width, Height);
        plot.SaveSvg(Path.Combine(dir, name + ".svg"), Width, Height);
        return [name + ".png", name + ".svg"];
    }

    public static Color Palette(int i) => new ScottPlot.Palettes.Category10().GetColor(i);
}
