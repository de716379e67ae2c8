using System.Reflection;
using ScottPlot;
using SkiaSharp;

namespace Orchestrator.Experiments.Reports;

/// <summary>
/// The font every report plot is drawn with. Skia finds system fonts under /usr/share/fonts; GPU hosts and slim
/// containers have none, and ScottPlot then draws plots without any text. So the Experiments assembly embeds
/// DejaVu Sans (regular and bold, from fonts-dejavu-core at build time: see Experiments.csproj) and registers it
/// with ScottPlot ahead of the system resolver. Built without the font files, plots fall back to the system's
/// sans font (<see cref="IsEmbedded"/> is false).
/// </summary>
public static class ReportFonts
{
    const string RegularResource = "Orchestrator.Experiments.Fonts.DejaVuSans.ttf";
    const string BoldResource = "Orchestrator.Experiments.Fonts.DejaVuSans-Bold.ttf";

    static readonly Lazy<EmbeddedFontResolver?> Resolver = new(LoadAndRegister, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>True when the font came from the assembly (the plots' text does not depend on the machine).</summary>
    public static bool IsEmbedded => Resolver.Value is not null;

    /// <summary>The family name plots use: the embedded font's ("DejaVu Sans"), or the system default sans font.</summary>
    public static string Family => Resolver.Value?.Family ?? Fonts.Default;

    /// <summary>The embedded regular typeface (null when built without it).</summary>
    public static SKTypeface? Regular => Resolver.Value?.Regular;

    /// <summary>Registers the embedded font with ScottPlot (once per process); true if there is one.</summary>
    public static bool Register() => IsEmbedded;

    /// <summary>Sets the title, axis labels, tick labels and legend of <paramref name="plot"/> to <see cref="Family"/>.</summary>
    public static void Apply(Plot plot)
    {
        string family = Family;
        plot.Font.Set(family);
        plot.Axes.Title.Label.FontName = family;
        foreach (var axis in plot.Axes.GetAxes())
        {
            axis.Label.FontName = family;
            axis.TickLabelStyle.FontName = family;
        }
        plot.Legend.FontName = family;
    }

    static EmbeddedFontResolver? LoadAndRegister()
    {
        var regular = Load(RegularResource);
        if (regular is null) return null;
        var resolver = new EmbeddedFontResolver(regular, Load(BoldResource) ?? regular);
        // First in the list: the embedded face wins over a system font of the same name, so plots look the same
        // on every machine. Registered once per process, before any plot asks for the family.
        lock (Fonts.FontResolvers) Fonts.FontResolvers.Insert(0, resolver);
        return resolver;
    }

    static SKTypeface? Load(string name)
    {
        using var stream = typeof(ReportFonts).Assembly.GetManifestResourceStream(name);
        if (stream is null) return null;
        using var ms = new MemoryStream();
        stream.CopyTo(ms);
        using var data = SKData.CreateCopy(ms.ToArray());
        return SKTypeface.FromData(data);
    }

    /// <summary>Answers requests for the embedded family (bold for semibold and heavier); null for any other name.</summary>
    sealed class EmbeddedFontResolver(SKTypeface regular, SKTypeface bold) : IFontResolver
    {
        public string Family { get; } = regular.FamilyName;
        public SKTypeface Regular { get; } = regular;

        public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing spacing) =>
            string.Equals(fontName, Family, StringComparison.OrdinalIgnoreCase)
                ? (weight >= FontWeight.SemiBold ? bold : Regular)
                : null;

        public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) =>
            CreateTypeface(fontName, bold ? FontWeight.Bold : FontWeight.Normal, italic ? FontSlant.Italic : FontSlant.Upright, FontSpacing.Normal);

        public override string ToString() => $"embedded font resolver: {Family} ({Assembly.GetExecutingAssembly().GetName().Name})";
    }
}
