using System.Text.Json;

namespace Orchestrator.Tests.Foundation;

public sealed class DoctorTests
{
    [Fact]
    public void DoctorJsonReportsTorchSharpLoadedAndCudaAsTheHostHasIt()
    {
        var r = OrchProcess.Run(new Dictionary<string, string?> { ["ORCH_LIBTORCH"] = null, ["ORCH_NCCL"] = null }, "doctor", "--json");
        Assert.Equal(0, r.Exit);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        Assert.Equal("0.107.0", root.GetProperty("torchsharp").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("torch_error").ValueKind);
        // The bundled libtorch (ORCH_LIBTORCH unset) sees CUDA exactly when it is a CUDA build and the host has a GPU.
        Assert.Equal(GpuHost.BundledLibTorchSeesCuda, root.GetProperty("cuda").GetBoolean());
        if (GpuHost.BundledLibTorchSeesCuda) Assert.True(root.GetProperty("devices").GetInt32() >= 1);
        else Assert.Equal(0, root.GetProperty("devices").GetInt32());
        // NCCL: its version where libnccl loads (a GPU host), else null with the reason beside it.
        if (GpuHost.NcclLoads)
        {
            Assert.Matches(@"^\d+\.\d+\.\d+$", root.GetProperty("nccl").GetString());
            Assert.Equal(JsonValueKind.Null, root.GetProperty("nccl_error").ValueKind);
        }
        else
        {
            Assert.Equal(JsonValueKind.Null, root.GetProperty("nccl").ValueKind);
            Assert.Contains("libnccl.so.2", root.GetProperty("nccl_error").GetString());
        }
    }

    [Fact]
    public void WrongLibTorchPathIsNamedWithTheFix()
    {
        var r = OrchProcess.Run(new Dictionary<string, string?> { ["ORCH_LIBTORCH"] = "/no/such/torch/lib" }, "doctor", "--json");
        Assert.Equal(1, r.Exit);
        using var doc = JsonDocument.Parse(r.Stdout);
        var error = doc.RootElement.GetProperty("torch_error").GetString()!;
        Assert.StartsWith("ORCH_LIBTORCH=/no/such/torch/lib: no such folder.", error);
        Assert.Contains("torch/lib", error.Replace("'lib'", "torch/lib"));
    }

    [Fact]
    public void LibTorchFolderWithoutLibTorchIsNamed()
    {
        var dir = Directory.CreateTempSubdirectory("orch-notorch").FullName;
        var r = OrchProcess.Run(new Dictionary<string, string?> { ["ORCH_LIBTORCH"] = dir }, "doctor", "--json");
        Assert.Equal(1, r.Exit);
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal($"ORCH_LIBTORCH={dir}: no libtorch.so in that folder. Point it at the folder that holds libtorch.so " +
                     "(a PyTorch install's torch/lib), or unset it to use the bundled CPU libtorch.",
            doc.RootElement.GetProperty("torch_error").GetString());
    }

    [Fact]
    public void MissingNcclLibraryNamesWhatWasTriedAndTheVariable()
    {
        var r = OrchProcess.Run(new Dictionary<string, string?> { ["ORCH_NCCL"] = "/no/such/libnccl.so.2", ["ORCH_LIBTORCH"] = null }, "doctor", "--json");
        using var doc = JsonDocument.Parse(r.Stdout);
        var error = doc.RootElement.GetProperty("nccl_error").GetString()!;
        Assert.Contains("/no/such/libnccl.so.2", error);
        Assert.Contains("set ORCH_NCCL", error);
    }

    [Fact]
    public void UnknownFlagIsBadInputWithExitCode2()
    {
        var r = OrchProcess.Run("doctor", "--no-such-flag");
        Assert.Equal(2, r.Exit);
        Assert.Contains("--no-such-flag", r.Stderr);
        Assert.Equal("", r.Stdout);
    }
}
