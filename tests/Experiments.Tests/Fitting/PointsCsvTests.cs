using Orchestrator.Experiments.Fitting;

namespace Orchestrator.Tests.Experiments.Fitting;

public sealed class PointsCsvTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("orch-points-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Write(string text)
    {
        string path = Path.Combine(_dir, $"p{Guid.NewGuid():N}.csv");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Reads_columns_in_any_order_with_extra_columns()
    {
        var pts = PointsCsv.Read(Write("run,loss,D,N\na,3.5,1e9,2e6\nb,3.25,2e9,4e6\n"));
        Assert.Equal([new ScalingPoint(2e6, 1e9, 3.5), new ScalingPoint(4e6, 2e9, 3.25)], pts);
    }

    [Fact]
    public void Missing_column_is_named()
    {
        string path = Write("N,tokens,loss\n1,2,3\n");
        var e = Assert.Throws<InvalidDataException>(() => PointsCsv.Read(path));
        Assert.Equal($"{path}: missing column 'D' (header is 'n,tokens,loss'; expected N,D,loss)", e.Message);
    }

    [Theory]
    [InlineData("0", "N = 0 must be a positive finite number")]
    [InlineData("-3", "N = -3 must be a positive finite number")]
    [InlineData("abc", "N = 'abc' is not a number")]
    public void Bad_values_are_named_with_their_line(string n, string message)
    {
        string path = Write($"N,D,loss\n1e6,1e9,3\n{n},1e9,3\n");
        var e = Assert.Throws<InvalidDataException>(() => PointsCsv.Read(path));
        Assert.Equal($"{path}:3: {message}", e.Message);
    }

    [Fact]
    public void Missing_file_is_a_FileNotFoundException()
    {
        var e = Assert.Throws<FileNotFoundException>(() => PointsCsv.Read(Path.Combine(_dir, "none.csv")));
        Assert.Contains("none.csv' does not exist", e.Message);
    }
}
