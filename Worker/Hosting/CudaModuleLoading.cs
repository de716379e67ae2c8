namespace Orchestrator.Worker.Hosting;

/// <summary>
/// How a worker's CUDA loads kernel modules (the driver's CUDA_MODULE_LOADING). Since CUDA 12.2 the default is lazy:
/// each kernel's module is loaded at its first launch, and loading may synchronise the whole context, that is, wait
/// for every kernel in flight on the device from this process. A worker with one slot barely notices; a packed
/// worker's new run loads hundreds of kernels (its shapes' GEMMs, the fused AdamW, flash attention) while the other
/// slots' runs keep the device busy, so each load waits behind their work, and building and warming a run that
/// joins a busy device takes seconds to tens of seconds instead of one or two. Eager loading pays once, when the
/// worker's CUDA starts (more start-up time and device memory for every kernel of libtorch), and never in a run.
/// Risk: the variable is read when CUDA initialises, so it must be set (in the native environment) before the
/// first CUDA call of the process; a value the user exported wins.
/// </summary>
public static class CudaModuleLoading
{
    public const string Variable = "CUDA_MODULE_LOADING";

    /// <summary>
    /// The value to set for <paramref name="mode"/> ("auto", "eager", "lazy"), or null to leave CUDA's default:
    /// auto is eager for a CUDA worker with more than one slot. <paramref name="exported"/> (the variable as the user
    /// set it) wins over auto; an explicit mode wins over it.
    /// </summary>
    public static string? Choose(string mode, bool cuda, int slots, string? exported) => mode switch
    {
        "eager" => "EAGER",
        "lazy" => "LAZY",
        "auto" => !cuda || !string.IsNullOrEmpty(exported) ? null : slots > 1 ? "EAGER" : null,
        _ => throw new ArgumentException($"--cuda-module-loading: '{mode}' is not auto, eager or lazy"),
    };
}
