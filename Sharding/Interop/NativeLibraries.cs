using System.Reflection;
using System.Runtime.InteropServices;

namespace Orchestrator.Sharding.Interop;

/// <summary>
/// Maps the import names used by this assembly's bindings ("nccl", "cudart") to real files. The pip NCCL
/// ships only libnccl.so.2 and CUDA ships libcudart.so.13, so we probe explicit names rather than rely on
/// symlinks: <c>ORCH_NCCL</c> / <c>ORCH_CUDART</c> (a file), then the system names, then the folders around
/// <c>ORCH_LIBTORCH</c> (a PyTorch install keeps nvidia/nccl/lib beside torch/lib).
/// </summary>
public static class NativeLibraries
{
    public const string Nccl = "nccl";
    public const string CudaRuntime = "cudart";

    static int _registered;

    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 1) return;
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);
    }

    static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        foreach (var candidate in Candidates(name))
            if (NativeLibrary.TryLoad(candidate, out var handle)) return handle;
        return 0;
    }

    /// <summary>The files tried, in order, for an import name (shown by `orch doctor` when nothing loads).</summary>
    public static IEnumerable<string> Candidates(string name)
    {
        var (variable, files) = name switch
        {
            Nccl => ("ORCH_NCCL", new[] { "libnccl.so.2", "libnccl.so" }),
            CudaRuntime => ("ORCH_CUDART", new[] { "libcudart.so.13", "libcudart.so.12", "libcudart.so" }),
            _ => ("", new[] { name }),
        };
        var explicitPath = variable.Length > 0 ? Environment.GetEnvironmentVariable(variable) : null;
        if (!string.IsNullOrWhiteSpace(explicitPath)) yield return explicitPath;
        foreach (var f in files) yield return f;
        var torchLib = Environment.GetEnvironmentVariable(TorchRuntime.LibTorchVariable);
        if (string.IsNullOrWhiteSpace(torchLib)) yield break;
        var sitePackages = Path.GetFullPath(Path.Combine(torchLib, "..", ".."));
        var sub = name == Nccl ? Path.Combine("nvidia", "nccl", "lib") : Path.Combine("nvidia", "cuda_runtime", "lib");
        foreach (var f in files)
        {
            yield return Path.Combine(sitePackages, sub, f);
            yield return Path.Combine(torchLib, f);
        }
        if (name == CudaRuntime)
            foreach (var f in files)
                yield return Path.Combine("/usr/local/cuda/targets/x86_64-linux/lib", f);
    }
}
