using System.Runtime.InteropServices;

namespace Orchestrator.Sharding.Interop;

/// <summary>
/// libtorch's per-thread current CUDA stream (c10::cuda), which every TorchSharp kernel launched from a thread runs
/// on. TorchSharp 0.107 binds no stream API, so this calls c10's exported C++ functions: <c>getStreamFromPool</c>,
/// <c>getCurrentCUDAStream</c>, <c>getDefaultCUDAStream</c>, <c>setCurrentCUDAStream</c> and
/// <c>CUDAStream::stream()</c>. A CUDA graph must be captured on a stream other than the default one, and runs
/// packed into one process launch on a stream each so their kernels can overlap.
///
/// Risk: these are C++ functions, not a C API. A <c>c10::cuda::CUDAStream</c> is a 16-byte trivially copyable value
/// (the device type and index, then the 64-bit stream id), so the SysV ABI passes and returns it in two registers,
/// which <see cref="CudaStreamValue"/> mirrors. The functions called cannot throw for a valid device index (-1: the
/// current device) and a value they returned. <see cref="TryLoad"/> checks every export exists and that a pool stream
/// set as current reads back as current and maps to a non-null cudaStream_t, before anything relies on them.
/// </summary>
public static unsafe class CudaStreams
{
    const string Library = "libc10_cuda.so";

    static readonly Lock Gate = new();
    static Api? _api;
    static string? _unavailable;

    /// <summary>c10::cuda::CUDAStream as passed by value: device (type, index) in the first word, stream id in the second.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public readonly record struct CudaStreamValue(long Device, long Id);

    sealed class Api(nint fromPool, nint current, nint deflt, nint setCurrent, nint raw)
    {
        public readonly delegate* unmanaged<byte, sbyte, CudaStreamValue> FromPool = (delegate* unmanaged<byte, sbyte, CudaStreamValue>)fromPool;
        public readonly delegate* unmanaged<sbyte, CudaStreamValue> Current = (delegate* unmanaged<sbyte, CudaStreamValue>)current;
        public readonly delegate* unmanaged<sbyte, CudaStreamValue> Default = (delegate* unmanaged<sbyte, CudaStreamValue>)deflt;
        public readonly delegate* unmanaged<CudaStreamValue, void> SetCurrent = (delegate* unmanaged<CudaStreamValue, void>)setCurrent;
        public readonly delegate* unmanaged<CudaStreamValue*, nint> Raw = (delegate* unmanaged<CudaStreamValue*, nint>)raw;
    }

    /// <summary>Whether the stream API works in this process (CUDA libtorch loaded and a device present); else the reason.</summary>
    public static bool TryLoad(out string? reason)
    {
        lock (Gate)
        {
            if (_api is null && _unavailable is null) _unavailable = Load();
            reason = _unavailable;
            return _api is not null;
        }
    }

    static string? Load()
    {
        if (!NativeLibrary.TryLoad(Library, out var lib)) return $"{Library} is not loaded (a CPU-only libtorch)";
        string[] symbols =
        [
            "_ZN3c104cuda17getStreamFromPoolEba",           // getStreamFromPool(bool isHighPriority, DeviceIndex)
            "_ZN3c104cuda20getCurrentCUDAStreamEa",         // getCurrentCUDAStream(DeviceIndex)
            "_ZN3c104cuda20getDefaultCUDAStreamEa",         // getDefaultCUDAStream(DeviceIndex)
            "_ZN3c104cuda20setCurrentCUDAStreamENS0_10CUDAStreamE", // setCurrentCUDAStream(CUDAStream)
            "_ZNK3c104cuda10CUDAStream6streamEv",           // CUDAStream::stream() const
        ];
        var found = new nint[symbols.Length];
        for (int i = 0; i < symbols.Length; i++)
            if (!NativeLibrary.TryGetExport(lib, symbols[i], out found[i])) return $"{Library} exports no {symbols[i]}";
        var api = new Api(found[0], found[1], found[2], found[3], found[4]);
        // Round trip: a pool stream made current reads back as current, then the previous one is restored.
        var before = api.Current(-1);
        var pool = api.FromPool(0, -1);
        api.SetCurrent(pool);
        var now = api.Current(-1);
        api.SetCurrent(before);
        if (!Same(now, pool)) return "c10::cuda::setCurrentCUDAStream did not take (the stream value layout differs from what this build expects)";
        if (Raw(api, pool) == 0) return "c10::cuda::CUDAStream::stream() gave a null stream for a pool stream";
        _api = api;
        return null;
    }

    static nint Raw(Api api, CudaStreamValue s) => api.Raw(&s);

    // The first word holds the device type and index in its low two bytes; the other six are padding.
    static bool Same(CudaStreamValue a, CudaStreamValue b) => (a.Device & 0xFFFF) == (b.Device & 0xFFFF) && a.Id == b.Id;

    static Api Loaded => _api ?? throw new InvalidOperationException("CudaStreams.TryLoad must succeed first: " + _unavailable);

    /// <summary>The calling thread's current stream on the current device.</summary>
    public static CudaStreamValue Current => Loaded.Current(-1);

    /// <summary>The current device's default stream.</summary>
    public static CudaStreamValue Default => Loaded.Default(-1);

    /// <summary>The cudaStream_t behind a stream value.</summary>
    public static nint Handle(CudaStreamValue stream) => Raw(Loaded, stream);

    /// <summary>
    /// Gives the calling thread a stream of its own until the result is disposed: when its current stream is the
    /// default one, a stream from libtorch's pool (non-blocking with respect to the legacy default stream; the same one
    /// for every call on this thread) becomes current and the default stream is restored at the end; a thread that already runs on a non-default stream
    /// (a packed run's slot, say) keeps it. Either way the default stream's queued work (weights copied at start-up,
    /// perhaps by another thread) is finished first, and a pool stream is finished before the default one is current
    /// again, so nothing crosses between streams unfinished; other threads' own streams are never waited for. Dispose on the thread that called this:
    /// the current stream is per thread.
    /// </summary>
    public static IDisposable UseOwnStream()
    {
        var api = Loaded;
        var previous = api.Current(-1);
        var deflt = api.Default(-1);
        CudaRuntimeNative.SynchronizeBorrowed(Raw(api, deflt)); // what other code queued there (a model built on another thread)
        if (!Same(previous, deflt)) return NoSwitch.Instance;
        // The same pool stream every time on this thread: the caching allocator keeps freed blocks per stream, so a
        // thread that took a new stream for each run (or each call) would strand the previous streams' cached memory
        // (packed runs on 8 threads ran a 140 GB device out of memory with 116 GB reserved and unused).
        var pool = _threadStream ??= api.FromPool(0, -1);
        api.SetCurrent(pool);
        return new Restore(api, previous, pool);
    }

    [ThreadStatic] static CudaStreamValue? _threadStream;

    sealed class NoSwitch : IDisposable
    {
        public static readonly NoSwitch Instance = new();
        public void Dispose() { }
    }

    sealed class Restore(Api api, CudaStreamValue previous, CudaStreamValue pool) : IDisposable
    {
        bool _done;

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            CudaRuntimeNative.TrySynchronizeBorrowed(Raw(api, pool));
            api.SetCurrent(previous);
        }
    }
}
