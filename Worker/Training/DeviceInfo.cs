using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Training;

/// <summary>The device a run uses, its compute dtype and the peak FLOP/s MFU is measured against.</summary>
public sealed record DeviceInfo(Device Device, ScalarType ComputeDtype, double? PeakFlops, string Name)
{
    /// <summary>H100/H200 dense bf16 peak (989 TFLOP/s); ORCH_PEAK_TFLOPS overrides it for other GPUs.</summary>
    public const double HopperBf16PeakFlops = 989e12;

    /// <summary>
    /// "cpu", "cuda" or "cuda:N"; <paramref name="dtype"/> "auto" computes in bf16 with fp32 masters on CUDA and in
    /// fp32 on the CPU; "fp32" or "bf16" force one.
    /// </summary>
    public static DeviceInfo Parse(string spec, string dtype = "auto")
    {
        var info = ParseDevice(spec);
        return dtype switch
        {
            "auto" => info,
            "fp32" => info with { ComputeDtype = ScalarType.Float32 },
            "bf16" => info with { ComputeDtype = ScalarType.BFloat16 },
            _ => throw new ArgumentException($"--dtype {dtype}: use auto, fp32 or bf16"),
        };
    }

    static DeviceInfo ParseDevice(string spec)
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
