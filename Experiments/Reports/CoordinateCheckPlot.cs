using System.Globalization;
using System.Text;

namespace Orchestrator.Experiments.Reports;

/// <summary>
/// The μP coordinate check's figures and table: per parametrization one plot of each layer's update size
/// (mean |x_t − x_0|) against width, both axes log10 (ticks labelled with the values), so flat lines are μP's
/// promise and rising ones SP's growth; and a CSV of every row. Takes plain rows (Experiments does not reference the
/// worker that measures them).
/// </summary>
public static class CoordinateCheckPlot
{
    /// <summary>One measured layer: parametrization, width, layer name, mean |x| after the steps, mean |x_t − x_0|.</summary>
    public readonly record struct Row(string Parametrization, int Width, string Layer, double Activation, double Update);

    /// <summary>Writes coord_check.csv and coord_check_PARAM.png/.svg per parametrization into <paramref name="dir"/>; returns the file names.</summary>
    public static IReadOnlyList<string> Write(IReadOnlyList<Row> rows, string dir)
    {
        Directory.CreateDirectory(dir);
        var files = new List<string> { "coord_check.csv" };
        var csv = new StringBuilder("parametrization,width,layer,activation,update\n");
        foreach (var r in rows)
            csv.Append(CultureInfo.InvariantCulture, $"{r.Parametrization},{r.Width},{r.Layer},{r.Activation:G6},{r.Update:G6}\n");
        File.WriteAllText(Path.Combine(dir, "coord_check.csv"), csv.ToString());
        // One y range for both plots, so SP's rise and μP's flat lines compare at a glance.
        var sizes = rows.Where(r => r.Update > 0).Select(r => Math.Log10(r.Update)).ToList();
        double low = sizes.Count > 0 ? sizes.Min() - 0.1 : -1, high = sizes.Count > 0 ? sizes.Max() + 0.1 : 1;
        var widths = rows.Select(r => r.Width).Distinct().Order().ToArray();
        foreach (var group in rows.GroupBy(r => r.Parametrization))
        {
            var plot = PlotWriter.New($"Coordinate check, {group.Key}: update size per layer", "width n_embd (log scale)", "mean |x_t − x_0| (log scale)", logX: true);
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
            {
                LabelFormatter = v => Math.Pow(10, v).ToString("G2", CultureInfo.InvariantCulture),
            };
            plot.Axes.Bottom.SetTicks([.. widths.Select(w => Math.Log10(w))], [.. widths.Select(w => w.ToString(CultureInfo.InvariantCulture))]);
            plot.Axes.SetLimitsY(low, high);
            int i = 0;
            foreach (var layer in group.GroupBy(r => r.Layer))
            {
                var pts = layer.Where(r => r.Update > 0).OrderBy(r => r.Width).ToList();
                if (pts.Count == 0) continue;
                var line = plot.Add.ScatterLine(pts.Select(p => Math.Log10(p.Width)).ToArray(), pts.Select(p => Math.Log10(p.Update)).ToArray(), PlotWriter.Palette(i++));
                line.LegendText = layer.Key;
                line.MarkerSize = 7;
            }
            files.AddRange(PlotWriter.Save(plot, dir, "coord_check_" + group.Key, legendOutside: true));
        }
        return files;
    }
}
