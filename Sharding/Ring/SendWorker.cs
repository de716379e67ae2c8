namespace Orchestrator.Sharding.Ring;

/// <summary>
/// A thread that sends one buffer while the communicator thread receives and reduces the other direction: a ring
/// step sends and receives at once (TCP buffers would deadlock two ranks that both only send). A dedicated thread,
/// not the thread pool, because its calls block for as long as the transfer takes.
/// </summary>
sealed class SendWorker : IDisposable
{
    readonly Thread _thread;
    readonly SemaphoreSlim _work = new(0), _done = new(0);
    readonly Action<nint, long> _send;
    nint _ptr;
    long _bytes;
    Exception? _error;
    volatile bool _stop;

    public SendWorker(Action<nint, long> send, string name)
    {
        _send = send;
        _thread = new Thread(Loop) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public void Post(nint ptr, long bytes)
    {
        _ptr = ptr; _bytes = bytes; _error = null;
        _work.Release();
    }

    /// <summary>Waits for the posted send and rethrows its failure.</summary>
    public void Join()
    {
        _done.Wait();
        if (_error is not null) throw _error;
    }

    void Loop()
    {
        while (true)
        {
            _work.Wait();
            if (_stop) return;
            try { _send(_ptr, _bytes); }
            catch (Exception e) { _error = e; }
            _done.Release();
        }
    }

    public void Dispose()
    {
        _stop = true;
        _work.Release();
    }
}
