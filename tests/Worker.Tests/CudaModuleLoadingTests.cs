using Orchestrator.Worker.Hosting;
using Xunit;

namespace Orchestrator.Worker.Tests;

public class CudaModuleLoadingTests
{
    [Theory]
    [InlineData("auto", true, 8, null, "EAGER")]   // a packed CUDA worker
    [InlineData("auto", true, 1, null, null)]      // one slot: CUDA's default
    [InlineData("auto", false, 8, null, null)]     // CPU: nothing to load
    [InlineData("auto", true, 8, "LAZY", null)]    // the user's export wins over auto
    [InlineData("eager", true, 1, "LAZY", "EAGER")] // an explicit flag wins over the export
    [InlineData("lazy", true, 8, null, "LAZY")]
    public void Chooses(string mode, bool cuda, int slots, string? exported, string? expected) =>
        Assert.Equal(expected, CudaModuleLoading.Choose(mode, cuda, slots, exported));

    [Fact]
    public void Refuses_an_unknown_mode() =>
        Assert.Equal("--cuda-module-loading: 'fast' is not auto, eager or lazy",
            Assert.Throws<ArgumentException>(() => CudaModuleLoading.Choose("fast", true, 2, null)).Message);
}
