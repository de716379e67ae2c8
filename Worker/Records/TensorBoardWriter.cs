namespace Orchestrator.Worker.Records;

/// <summary>
/// Appends scalar events to one TensorBoard event file, `events.out.tfevents.SECONDS.HOST.PID` in its folder (each
/// process that writes gets a file of its own; TensorBoard reads every file of a folder in name order). Each event is
/// flushed as it is written, so TensorBoard shows a live run.
/// </summary>
public sealed class TensorBoardWriter : IDisposable
{
    readonly FileStream _file;

    public string Path { get; }

    public TensorBoardWriter(string folder)
    {
        Directory.CreateDirectory(folder);
        var now = DateTimeOffset.UtcNow;
        Path = System.IO.Path.Combine(folder, $"events.out.tfevents.{now.ToUnixTimeSeconds()}.{Environment.MachineName}.{Environment.ProcessId}");
        _file = new FileStream(Path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        Write(new TensorBoardEvent(Seconds(now), 0, TensorBoardEvent.Version, []));
    }

    public void Scalars(long step, DateTimeOffset time, IReadOnlyList<(string Tag, float Value)> values) =>
        Write(new TensorBoardEvent(Seconds(time), step, null, values));

    void Write(TensorBoardEvent e)
    {
        TfRecord.Write(_file, e.Encode());
        _file.Flush();
    }

    static double Seconds(DateTimeOffset t) => t.ToUnixTimeMilliseconds() / 1000.0;

    public void Dispose() => _file.Dispose();

    /// <summary>Every event of a file (tests and tools; checks every record's checksums).</summary>
    public static List<TensorBoardEvent> Read(string path)
    {
        using var f = File.OpenRead(path);
        return [.. TfRecord.ReadAll(f, path).Select(r => TensorBoardEvent.Decode(r))];
    }
}
