using System.Globalization;

namespace Orchestrator.Experiments.Fitting;

/// <summary>
/// Reads `orch fit`'s input: a CSV with a header naming N, D and loss (any order, any extra columns, case-insensitive).
/// Every problem is an <see cref="InvalidDataException"/> naming the file, line and column.
/// </summary>
public static class PointsCsv
{
    public static IReadOnlyList<ScalingPoint> Read(string path) => ReadKeyed(path).Points;

    /// <summary>The points and their keys: the `key` column when there is one (a sweep's results.csv has it), else "row2", "row3", ... (file lines).</summary>
    public static (IReadOnlyList<ScalingPoint> Points, IReadOnlyList<string> Keys) ReadKeyed(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"points file '{path}' does not exist", path);
        using var reader = new StreamReader(path);
        var keys = new List<string>();
        var points = Parse(reader, path, keys);
        return (points, keys);
    }

    public static IReadOnlyList<ScalingPoint> Parse(TextReader reader, string name, List<string>? keys = null)
    {
        string? header = reader.ReadLine();
        while (header is not null && header.Trim().Length == 0) header = reader.ReadLine();
        if (header is null) throw new InvalidDataException($"{name} is empty: expected a header row 'N,D,loss' and one row per run");
        var columns = header.Split(',').Select(c => c.Trim().Trim('"').ToLowerInvariant()).ToList();
        int n = Column(columns, "n", name), d = Column(columns, "d", name), loss = Column(columns, "loss", name);
        int key = columns.IndexOf("key");

        var points = new List<ScalingPoint>();
        int lineNo = 1;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            lineNo++;
            if (line.Trim().Length == 0 || line.TrimStart().StartsWith('#')) continue;
            var cells = line.Split(',');
            if (cells.Length < columns.Count)
                throw new InvalidDataException($"{name}:{lineNo}: {cells.Length} field(s), the header has {columns.Count}");
            points.Add(new ScalingPoint(Value(cells, n, "N", name, lineNo), Value(cells, d, "D", name, lineNo),
                Value(cells, loss, "loss", name, lineNo)));
            keys?.Add(key >= 0 ? cells[key].Trim().Trim('"') : $"row{lineNo}");
        }
        return points;
    }

    static int Column(List<string> columns, string wanted, string name)
    {
        int i = columns.IndexOf(wanted);
        return i >= 0 ? i : throw new InvalidDataException(
            $"{name}: missing column '{(wanted == "loss" ? "loss" : wanted.ToUpperInvariant())}' (header is '{string.Join(",", columns)}'; expected N,D,loss)");
    }

    static double Value(string[] cells, int index, string column, string name, int line)
    {
        string text = cells[index].Trim().Trim('"');
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
            throw new InvalidDataException($"{name}:{line}: {column} = '{text}' is not a number");
        if (!(v > 0) || !double.IsFinite(v))
            throw new InvalidDataException($"{name}:{line}: {column} = {text} must be a positive finite number");
        return v;
    }
}
