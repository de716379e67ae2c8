using System.Net.Sockets;

namespace Orchestrator.Worker.Hosting;

/// <summary>
/// Which job failures are worth a restart. Transient: a lost peer or connection (the run re-rendezvous from its last
/// checkpoint). Permanent: the same spec fails the same way on any worker: a missing corpus, checkpoint or file, a
/// corpus that cannot feed the model (block size, tokens), a shape or argument error, bad data. Invariant: a
/// permanent failure ends the run at once with its message (one Failed transition, no retries); the test for it is
/// on the exception's type, never its text.
/// </summary>
public static class JobFailures
{
    public static bool IsTransient(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException or EndOfStreamException or PathTooLongException => false,
        TransientJobException or SocketException or TimeoutException or OperationCanceledException => true,
        IOException => true, // a broken pipe or reset stream between ranks
        AggregateException { InnerExceptions.Count: 1 } a => IsTransient(a.InnerExceptions[0]),
        _ => false,
    };
}
