using Orchestrator.Sharding.Interop;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Foundation;

public sealed class TorchSharpLoadsTests
{
    [Fact]
    public void LibTorchLoadsAndMultipliesMatrices()
    {
        var info = TorchRuntime.Initialize();
        Assert.Equal("0.107.0", info.TorchSharpVersion);
        Assert.Equal(GpuHost.LibTorchSeesCuda(Environment.GetEnvironmentVariable(TorchRuntime.LibTorchVariable)), info.Cuda);

        using var a = tensor(new float[] { 1, 2, 3, 4 }, [2, 2]);
        using var b = tensor(new float[] { 5, 6, 7, 8 }, [2, 2]);
        using var c = matmul(a, b);
        Assert.Equal(new float[] { 19, 22, 43, 50 }, c.data<float>().ToArray());
    }

    [Fact]
    public void BuildOutputCopyOfLibTorchSharpAsksForNoGlibcxxTheHostLacks()
    {
        var so = Directory.GetFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories).Single();
        var needs = VersionNeeds(so);
        Assert.Contains("GLIBCXX_3.4.30", needs);
        if (!HostLibstdcxxHas("GLIBCXX_3.4.32")) Assert.DoesNotContain("GLIBCXX_3.4.32", needs);
    }

    /// <summary>The version names in the .gnu.version_r section, as readelf -V prints them.</summary>
    static List<string> VersionNeeds(string path)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("readelf", ["-V", "-W", path]) { RedirectStandardOutput = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var section = text[text.IndexOf(".gnu.version_r", StringComparison.Ordinal)..];
        return System.Text.RegularExpressions.Regex.Matches(section, @"Name: (\S+)").Select(m => m.Groups[1].Value).ToList();
    }

    static bool HostLibstdcxxHas(string version)
    {
        var path = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
        return File.Exists(path) && File.ReadAllBytes(path).AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(version + "\0")) >= 0;
    }
}
