using System.Runtime.InteropServices;

namespace Orchestrator.Tests.Foundation;

/// <summary>
/// What a correct report says on this host, found without the code under test: whether the host has an NVIDIA GPU
/// (its device nodes), whether a libtorch folder is a CUDA build (libtorch_cuda.so beside libtorch.so) and whether
/// libnccl loads. Tests compare against these, so they hold on the CPU CI machine and on a GPU host alike.
/// </summary>
static class GpuHost
{
    /// <summary>An NVIDIA device node, and CUDA_VISIBLE_DEVICES does not hide every device.</summary>
    public static bool HasGpu =>
        File.Exists("/dev/nvidiactl") && Directory.GetFiles("/dev", "nvidia*").Any(f => char.IsAsciiDigit(f[^1])) &&
        Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES") is not ("" or "-1");

    /// <summary>Whether libtorch in <paramref name="folder"/> (null: the bundled one beside the tests) sees CUDA here.</summary>
    public static bool LibTorchSeesCuda(string? folder) =>
        HasGpu && File.Exists(Path.Combine(string.IsNullOrWhiteSpace(folder) ? AppContext.BaseDirectory : folder, "libtorch_cuda.so"));

    public static bool BundledLibTorchSeesCuda => LibTorchSeesCuda(null);

    /// <summary>libnccl loads by the names orch tries first when ORCH_NCCL and ORCH_LIBTORCH are unset.</summary>
    public static bool NcclLoads => TryLoad("libnccl.so.2") || TryLoad("libnccl.so");

    static bool TryLoad(string name)
    {
        if (!NativeLibrary.TryLoad(name, out var handle)) return false;
        NativeLibrary.Free(handle);
        return true;
    }
}
