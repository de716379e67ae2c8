namespace Orchestrator.Worker.Hosting;

/// <summary>
/// Gives a training thread its own compute stream for the runs it trains, so the slots of one process compute
/// side by side on one device instead of queueing on its default stream. Called once on each slot's training
/// thread; the returned scope restores the thread's previous stream. On CPU there is nothing to do.
/// </summary>
public interface IThreadStreams
{
    IDisposable UseStreamForThisThread(string device);
}

/// <summary>Leaves every thread on the device's default stream (CPU; CUDA until a stream binding is registered).</summary>
public sealed class NoThreadStreams : IThreadStreams
{
    public static readonly NoThreadStreams Instance = new();
    public IDisposable UseStreamForThisThread(string device) => Nothing.Instance;

    sealed class Nothing : IDisposable
    {
        public static readonly Nothing Instance = new();
        public void Dispose() { }
    }
}
