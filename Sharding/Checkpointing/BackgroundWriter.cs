namespace Orchestrator.Sharding.Checkpointing;

/// <summary>
/// Runs checkpoint writes off the training thread, one at a time (PyTorch's async_save pattern): <see cref="Start"/>
/// first waits for the previous write, so at most one is in flight and the host snapshot it reads is never
/// overwritten under it. Invariant: a write's failure is never lost: it is rethrown on the training thread by the
/// next <see cref="ThrowIfFailed"/> (every step), <see cref="Start"/> or <see cref="Drain"/> (the end of a run),
/// wrapped in an <see cref="IOException"/> that names the checkpoint.
/// </summary>
public sealed class BackgroundWriter : IDisposable
{
    readonly CancellationTokenSource _cts = new();
    Task? _inFlight;
    string? _what;

    /// <summary>Whether a write is running or finished without being collected.</summary>
    public bool Pending => _inFlight is not null;

    /// <summary>Waits for the previous write (rethrowing its failure), then starts <paramref name="write"/> on its own thread.</summary>
    /// <param name="what">The checkpoint's folder, for the error message.</param>
    public void Start(string what, Action<CancellationToken> write)
    {
        Drain();
        _what = what;
        var token = _cts.Token;
        _inFlight = Task.Factory.StartNew(() => write(token), token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Rethrows a finished write's failure; returns at once while the write still runs.</summary>
    public void ThrowIfFailed()
    {
        if (_inFlight is { IsCompleted: true }) Drain();
    }

    /// <summary>Waits for the write in flight, if any, and rethrows its failure.</summary>
    public void Drain(CancellationToken ct = default)
    {
        var task = _inFlight;
        if (task is null) return;
        try { task.Wait(ct); }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
        catch (AggregateException e)
        {
            _inFlight = null;
            var inner = e.InnerExceptions.Count == 1 ? e.InnerExceptions[0] : e;
            throw new IOException($"checkpoint {_what}: the background write failed: {inner.Message}", inner);
        }
        _inFlight = null;
    }

    /// <summary>Cancels a commit still waiting for other ranks' shards and waits for the write to end; its failure is dropped (the run is ending on another error).</summary>
    public void Dispose()
    {
        _cts.Cancel();
        try { _inFlight?.Wait(); } catch (AggregateException) { }
        _cts.Dispose();
    }
}
