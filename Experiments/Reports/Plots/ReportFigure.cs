namespace Orchestrator.Experiments.Reports.Plots;

/// <summary>A figure of the report: NAME.png and NAME.svg in the report's folder, and the one line report.md says under it.</summary>
public sealed record ReportFigure(string Name, string Caption)
{
    public string Png => Name + ".png";
    public string Svg => Name + ".svg";
}
