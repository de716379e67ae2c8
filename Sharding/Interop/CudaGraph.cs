using System.Runtime.InteropServices;

namespace Orchestrator.Sharding.Interop;

/// <summary>
/// One CUDA graph captured from the kernels a thread launches on its current stream, then replayed with one launch:
/// libtorch's <c>at::cuda::CUDAGraph</c> (what <c>torch.cuda.CUDAGraph</c> wraps), which also routes every
/// allocation made during capture into a private memory pool of the caching allocator, so the addresses the graph
/// baked in stay reserved for its replays. TorchSharp 0.107 binds none of it; this calls the exported C++ members.
///
/// Risks, and how each is kept out:
/// - The object's size is libtorch's, not known here: it lives in a zeroed block far larger than any version's
///   CUDAGraph (a few hundred bytes), whose tail holds a canary checked after construction and after each capture.
/// - A C++ exception thrown through these calls would abort the process. Each call's preconditions are checked
///   first: capture begins on a non-default current stream that is not capturing, and ends on that same stream while
///   its capture is still active. A capture that an illegal call invalidated (a host sync inside the captured code)
///   is ended here through libcudart instead of libtorch (<see cref="Abandon"/>); the object is then leaked on
///   purpose, since libtorch's default generator keeps a pointer to it.
/// - The capture mode is thread-local: other threads (data loading, a checkpoint writer, packed runs) may call
///   the CUDA runtime during a capture without invalidating it.
/// </summary>
public sealed unsafe class CudaGraph : IDisposable
{
    const int ObjectBytes = 16384, CanaryBytes = 4096;
    const byte Canary = 0xA5;
    const int CaptureModeThreadLocal = 1; // cudaStreamCaptureModeThreadLocal

    static readonly Lock Gate = new();
    static Api? _api;
    static string? _unavailable;

    sealed class Api(nint ctor, bool ctorTakesKeepGraph, nint dtor, nint begin, nint end, nint replay)
    {
        public readonly nint Ctor = ctor;
        public readonly bool CtorTakesKeepGraph = ctorTakesKeepGraph;
        public readonly delegate* unmanaged<nint, void> Dtor = (delegate* unmanaged<nint, void>)dtor;
        // capture_begin(MempoolId_t pool, cudaStreamCaptureMode): the pair of two 64-bit ids travels in two registers.
        public readonly delegate* unmanaged<nint, ulong, ulong, int, void> Begin = (delegate* unmanaged<nint, ulong, ulong, int, void>)begin;
        public readonly delegate* unmanaged<nint, void> End = (delegate* unmanaged<nint, void>)end;
        public readonly delegate* unmanaged<nint, void> Replay = (delegate* unmanaged<nint, void>)replay;
    }

    nint _object;
    nint _stream;           // the cudaStream_t capture began on
    bool _captured, _abandoned;

    /// <summary>Whether graphs can be captured here (CUDA libtorch with the expected exports and the stream API); else why not.</summary>
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
        if (!CudaStreams.TryLoad(out var streams)) return streams;
        const string library = "libtorch_cuda.so";
        if (!NativeLibrary.TryLoad(library, out var lib)) return $"{library} is not loaded (a CPU-only libtorch)";
        bool keepGraph = NativeLibrary.TryGetExport(lib, "_ZN2at4cuda9CUDAGraphC1Eb", out var ctor);
        if (!keepGraph && !NativeLibrary.TryGetExport(lib, "_ZN2at4cuda9CUDAGraphC1Ev", out ctor))
            return $"{library} exports no at::cuda::CUDAGraph constructor";
        string[] symbols =
        [
            "_ZN2at4cuda9CUDAGraphD1Ev",
            "_ZN2at4cuda9CUDAGraph13capture_beginESt4pairIyyE21cudaStreamCaptureMode",
            "_ZN2at4cuda9CUDAGraph11capture_endEv",
            "_ZN2at4cuda9CUDAGraph6replayEv",
        ];
        var found = new nint[symbols.Length];
        for (int i = 0; i < symbols.Length; i++)
            if (!NativeLibrary.TryGetExport(lib, symbols[i], out found[i])) return $"{library} exports no {symbols[i]}";
        NativeLibraries.Register();
        _api = new Api(ctor, keepGraph, found[0], found[1], found[2], found[3]);
        return null;
    }

    static Api Loaded => _api ?? throw new InvalidOperationException("CudaGraph.TryLoad must succeed first: " + _unavailable);

    /// <summary>An empty graph object; <see cref="CaptureBegin"/> next.</summary>
    public CudaGraph()
    {
        var api = Loaded;
        _object = (nint)NativeMemory.AlignedAlloc(ObjectBytes, 64);
        var block = new Span<byte>((void*)_object, ObjectBytes);
        block.Clear();
        block[^CanaryBytes..].Fill(Canary);
        if (api.CtorTakesKeepGraph) ((delegate* unmanaged<nint, byte, void>)api.Ctor)(_object, 0);
        else ((delegate* unmanaged<nint, void>)api.Ctor)(_object);
        CheckCanary("construction");
    }

    /// <summary>Starts recording the calling thread's current stream (which must not be the default stream).</summary>
    public void CaptureBegin()
    {
        var api = Loaded;
        ObjectDisposedException.ThrowIf(_object == 0, this);
        if (_captured || _stream != 0) throw new InvalidOperationException("this graph has been captured already; make a new one");
        var stream = CudaStreams.Current;
        if (CudaStreams.Handle(stream) == CudaStreams.Handle(CudaStreams.Default))
            throw new InvalidOperationException("a CUDA graph cannot be captured on the default stream (CudaStreams.UseOwnStream first)");
        var handle = CudaStreams.Handle(stream);
        if (CudaRuntimeNative.CaptureStatus(handle) != CudaRuntimeNative.CaptureStatusNone) throw new InvalidOperationException("the current stream is already capturing");
        api.Begin(_object, 0, 0, CaptureModeThreadLocal);
        _stream = handle;
    }

    /// <summary>
    /// Ends the capture and instantiates the graph. False (with the reason, and the capture ended and this object
    /// abandoned) when the capture was invalidated or the thread's current stream is no longer the one it began on.
    /// </summary>
    public bool TryCaptureEnd(out string? reason)
    {
        var api = Loaded;
        reason = null;
        if (_stream == 0 || _captured) throw new InvalidOperationException("no capture is under way");
        if (CudaStreams.Handle(CudaStreams.Current) != _stream)
        {
            reason = "the current stream changed during capture";
            Abandon();
            return false;
        }
        int status = CudaRuntimeNative.CaptureStatus(_stream);
        if (status != CudaRuntimeNative.CaptureStatusActive)
        {
            reason = status == CudaRuntimeNative.CaptureStatusInvalidated
                ? "the capture was invalidated by a call CUDA graphs do not allow (a host synchronisation inside the step)"
                : "the stream stopped capturing";
            Abandon();
            return false;
        }
        api.End(_object);
        _captured = true;
        CheckCanary("capture");
        return true;
    }

    /// <summary>
    /// Ends a capture without libtorch (after a managed error inside the captured code, or an invalid capture): the
    /// recorded work is dropped and this object is leaked (see the class comment). Safe to call more than once.
    /// </summary>
    public void Abandon()
    {
        if (_abandoned || _object == 0) return;
        _abandoned = true;
        if (_stream != 0) CudaRuntimeNative.DropCapture(_stream);
        _object = 0;
    }

    /// <summary>Launches the captured work on the calling thread's current stream.</summary>
    public void Replay()
    {
        if (!_captured || _object == 0) throw new InvalidOperationException("replay needs a finished capture");
        Loaded.Replay(_object);
    }

    void CheckCanary(string when)
    {
        var tail = new ReadOnlySpan<byte>((void*)(_object + ObjectBytes - CanaryBytes), CanaryBytes);
        if (tail.IndexOfAnyExcept(Canary) >= 0)
            throw new InvalidOperationException($"at::cuda::CUDAGraph outgrew {ObjectBytes - CanaryBytes} bytes at {when}: this libtorch's layout is not what this build expects");
    }

    public void Dispose()
    {
        if (_object == 0) return;
        if (_stream != 0 && !_captured) { Abandon(); return; }
        Loaded.Dtor(_object);
        NativeMemory.AlignedFree((void*)_object);
        _object = 0;
    }
}
