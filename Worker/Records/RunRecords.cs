using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Orchestrator.Worker.Records;

/// <summary>
/// The records a run leaves beside its checkpoints for other tools: `metrics.jsonl` (one JSON object per report) and,
/// when asked, TensorBoard scalars under `tensorboard/`. Only rank 0 writes them. Invariant: metrics.jsonl holds no
/// step after the state the run continues from: opening it for a run that starts at step S drops the rows after S
/// (written by an attempt whose later steps were lost with it), so a resumed run's file reads as one history.
/// </summary>
public sealed class RunRecords : IDisposable
{
    public const string MetricsFile = "metrics.jsonl";
    public const string TensorBoardFolder = "tensorboard";

    readonly StreamWriter _metrics;
    readonly TensorBoardWriter? _tensorBoard;

    public string MetricsPath { get; }
    public string? TensorBoardPath => _tensorBoard?.Path;

    public RunRecords(string runFolder, long startStep, bool tensorBoard)
    {
        Directory.CreateDirectory(runFolder);
        MetricsPath = Path.Combine(runFolder, MetricsFile);
        KeepUpTo(MetricsPath, startStep);
        _metrics = new StreamWriter(new FileStream(MetricsPath, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
        if (tensorBoard) _tensorBoard = new TensorBoardWriter(Path.Combine(runFolder, TensorBoardFolder));
    }

    public void Append(MetricsRecord r)
    {
        _metrics.Write(Line(r));
        _metrics.Write('\n');
        _metrics.Flush();
        if (_tensorBoard is null) return;
        var scalars = new List<(string, float)>
        {
            ("train/loss", (float)r.Loss), ("train/lr", (float)r.LearningRate), ("train/tokens_per_s", (float)r.TokensPerSecond),
            ("train/tokens", r.Tokens), ("train/world_size", r.WorldSize),
        };
        if (r.Mfu is double mfu) scalars.Add(("train/mfu", (float)mfu));
        if (r.ValLoss is double val) scalars.Add(("val/loss", (float)val));
        _tensorBoard.Scalars(r.Step, r.Time, scalars);
    }

    /// <summary>One line of metrics.jsonl (docs/CLI.md "metrics.jsonl"): absent values are null.</summary>
    public static string Line(MetricsRecord r)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("step", r.Step);
            w.WriteNumber("tokens", r.Tokens);
            Number(w, "loss", r.Loss);
            Number(w, "val_loss", r.ValLoss);
            Number(w, "lr", r.LearningRate);
            Number(w, "tokens_per_s", r.TokensPerSecond);
            Number(w, "mfu", r.Mfu);
            w.WriteNumber("world_size", r.WorldSize);
            w.WriteString("time", r.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    // JSON has no NaN or infinity: a non-finite value is written as null.
    static void Number(Utf8JsonWriter w, string name, double? v)
    {
        if (v is double d && double.IsFinite(d)) w.WriteNumber(name, d);
        else w.WriteNull(name);
    }

    /// <summary>Every row of a metrics.jsonl file (tests and tools).</summary>
    public static List<JsonElement> Read(string path) =>
        [.. File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    static void KeepUpTo(string path, long startStep)
    {
        if (!File.Exists(path)) return;
        var lines = File.ReadAllLines(path);
        // A half-written last line (a killed process) goes too.
        var kept = lines.Where(l => StepOf(l) is long s && s <= startStep).ToArray();
        if (kept.Length == lines.Length) return;
        var temp = path + ".tmp";
        File.WriteAllLines(temp, kept);
        File.Move(temp, path, overwrite: true);
    }

    static long? StepOf(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.TryGetProperty("step", out var s) && s.TryGetInt64(out long v) ? v : null;
        }
        catch (JsonException) { return null; }
    }

    public void Dispose()
    {
        _metrics.Dispose();
        _tensorBoard?.Dispose();
    }
}
