using ScottPlot;
using SkiaSharp;

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

    /// <summary>
    /// Saves small multiples: <paramref name="panels"/> in a grid of <paramref name="columns"/>, each
    /// <paramref name="panelWidth"/> x <paramref name="panelHeight"/>, as name.png and name.svg. Each panel keeps the
    /// legend it was given (call ShowLegend on it first); the caller sets shared axis limits.
    /// </summary>
    public static string[] SaveGrid(IReadOnlyList<Plot> panels, int columns, string dir, string name, int panelWidth = 600, int panelHeight = 420)
    {
        if (panels.Count == 0) throw new ArgumentException("a grid needs at least one panel", nameof(panels));
        foreach (var p in panels) ReportFonts.Apply(p);
        int rows = (panels.Count + columns - 1) / columns;
        int width = columns * panelWidth, height = rows * panelHeight;
        void Draw(SKCanvas canvas)
        {
            canvas.Clear(SKColors.White);
            for (int i = 0; i < panels.Count; i++)
            {
                float x = i % columns * panelWidth, y = i / columns * panelHeight;
                // A plot clears the canvas before drawing: the clip keeps it to its own cell.
                canvas.Save();
                canvas.ClipRect(new SKRect(x, y, x + panelWidth, y + panelHeight));
                panels[i].Render(canvas, new PixelRect(x, x + panelWidth, y + panelHeight, y));
                canvas.Restore();
            }
        }
        using (var surface = SKSurface.Create(new SKImageInfo(width, height)))
        {
            Draw(surface.Canvas);
            using var image = surface.Snapshot();
            using var png = image.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(Path.Combine(dir, name + ".png"), png.ToArray());
        }
        using (var stream = File.Create(Path.Combine(dir, name + ".svg")))
        using (var wstream = new SKManagedWStream(stream))
        using (var canvas = SKSvgCanvas.Create(new SKRect(0, 0, width, height), wstream))
            Draw(canvas);
        return [name + ".png", name + ".svg"];
    }

    public static Color Palette(int i) => new ScottPlot.Palettes.Category10().GetColor(i);
}
