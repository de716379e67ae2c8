using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Training;

/// <summary>The device a run uses, its compute dtype and the peak FLOP/s MFU is measured against.</summary>
public sealed record DeviceInfo(Device Device, ScalarType ComputeDtype, double? PeakFlops, string Name)
{
    /// <summary>H100/H200 dense bf16 peak (989 TFLOP/s); ORCH_PEAK_TFLOPS overrides it for other GPUs.</summary>
    public const double HopperBf16PeakFlops = 989e12;

    /// <summary>"cpu", "cuda" or "cuda:N"; CUDA computes in bf16 with fp32 masters, CPU in fp32.</summary>
    public static DeviceInfo Parse(string spec)
    {
        if (spec == "cpu") return new DeviceInfo(CPU, ScalarType.Float32, null, "cpu");
        if (spec == "cuda" || spec.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!cuda.is_available())
                throw new ArgumentException($"--device {spec}: CUDA is not available here (run 'orch doctor'); use --device cpu");
            var peak = double.TryParse(Environment.GetEnvironmentVariable("ORCH_PEAK_TFLOPS"), System.Globalization.CultureInfo.InvariantCulture, out var tf)
                ? tf * 1e12 : HopperBf16PeakFlops;
            return new DeviceInfo(new Device(spec), ScalarType.BFloat16, peak, spec);
        }
        throw new ArgumentException($"--device {spec}: use cpu, cuda or cuda:N");
    }

    public bool IsCuda => Device.type == DeviceType.CUDA;
}
