using System.Runtime.InteropServices;
using TorchSharp;

namespace Orchestrator.Sharding.Interop;

/// <summary>
/// Loads libtorch before TorchSharp touches it. With <c>ORCH_LIBTORCH=/path/to/torch/lib</c> the libraries of an
/// existing libtorch (a PyTorch install, CUDA included) are loaded by full path first; the dynamic linker then
/// resolves libLibTorchSharp.so's dependencies to them by soname. Without it, the libtorch NuGet package in the
/// application folder is used. Every failure becomes a <see cref="TorchRuntimeException"/> that says what to do.
/// </summary>
public static class TorchRuntime
{
    public const string LibTorchVariable = "ORCH_LIBTORCH";

    // Dependency order: each library's DT_NEEDED entries are loaded before it.
    static readonly string[] LoadOrder =
        ["libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so"];

    static readonly Lock Gate = new();
    static TorchRuntimeInfo? _info;

    /// <summary>Loads libtorch once per process and reports what was loaded.</summary>
    public static TorchRuntimeInfo Initialize()
    {
        lock (Gate)
        {
            if (_info is not null) return _info;
            var external = Environment.GetEnvironmentVariable(LibTorchVariable);
            if (!string.IsNullOrWhiteSpace(external)) PreloadExternal(external);
            try
            {
                var cuda = torch.cuda.is_available();
                _info = new TorchRuntimeInfo(
                    TorchSharpVersion: typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "unknown",
                    LibTorchPath: string.IsNullOrWhiteSpace(external) ? "bundled (NuGet libtorch)" : Path.GetFullPath(external),
                    Cuda: cuda,
                    Devices: cuda ? torch.cuda.device_count() : 0,
                    Cudnn: cuda && torch.cuda.is_cudnn_available());
                return _info;
            }
            catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or NotSupportedException or ExternalException)
            {
                throw Explain(e);
            }
        }
    }

    static void PreloadExternal(string dir)
    {
        if (!Directory.Exists(dir))
            throw new TorchRuntimeException(
                $"{LibTorchVariable}={dir}: no such folder. Point it at the folder that holds libtorch.so, for example " +
                "the 'lib' folder of a PyTorch install: python3 -c \"import torch, os; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))\"");
        if (!File.Exists(Path.Combine(dir, "libtorch.so")))
            throw new TorchRuntimeException(
                $"{LibTorchVariable}={dir}: no libtorch.so in that folder. Point it at the folder that holds libtorch.so " +
                "(a PyTorch install's torch/lib), or unset it to use the bundled CPU libtorch.");
        foreach (var name in LoadOrder)
        {
            var path = Path.Combine(dir, name);
            if (!File.Exists(path)) continue; // CPU-only builds have no CUDA libraries
            try
            {
                NativeLibrary.Load(path);
            }
            catch (DllNotFoundException e)
            {
                throw new TorchRuntimeException(
                    $"{LibTorchVariable}: could not load {path}: {FirstLine(e.Message)}. Check that the libtorch there " +
                    "matches this machine (CUDA driver, glibc) and that its own dependencies are on LD_LIBRARY_PATH.");
            }
        }
    }

    static TorchRuntimeException Explain(Exception e)
    {
        var text = Flatten(e);
        if (text.Contains("GLIBCXX_", StringComparison.Ordinal) || text.Contains("GLIBC_", StringComparison.Ordinal))
            return new TorchRuntimeException(
                "libLibTorchSharp.so needs a newer C++ runtime (libstdc++) than this system has: " + FirstLine(text) +
                ". Build with 'dotnet build' (the build patches the copy in its output; see docs/ARCHITECTURE.md), " +
                "or force it with -p:OrchPatchGlibcxx=always. A glibc older than 2.31 is not supported.", e);
        if (text.Contains("doesn't contain a reference to libtorch", StringComparison.Ordinal))
            return new TorchRuntimeException(
                "this build of orch bundles no libtorch (built with -p:TorchBackend=external): set " + LibTorchVariable +
                " to a libtorch folder, e.g. a PyTorch install's torch/lib, or use a default build (bundled CPU libtorch).", e);
        return new TorchRuntimeException(
            "TorchSharp could not load libtorch: " + FirstLine(text) + ". Run './orch doctor' for details; set " +
            $"{LibTorchVariable} to a PyTorch install's torch/lib folder to use an existing libtorch.", e);
    }

    static string Flatten(Exception e)
    {
        var parts = new List<string>();
        for (Exception? x = e; x is not null; x = x.InnerException) parts.Add(x.Message);
        return string.Join(" | ", parts);
    }

    static string FirstLine(string s) => s.Split('\n')[0].Trim();
}

/// <summary>What <see cref="TorchRuntime.Initialize"/> found.</summary>
public sealed record TorchRuntimeInfo(string TorchSharpVersion, string LibTorchPath, bool Cuda, int Devices, bool Cudnn);

/// <summary>libtorch or TorchSharp could not be loaded; the message says why and what to do.</summary>
public sealed class TorchRuntimeException(string message, Exception? inner = null) : Exception(message, inner);
