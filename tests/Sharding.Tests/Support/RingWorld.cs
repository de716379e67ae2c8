using System.Net;
using System.Net.Sockets;
using Orchestrator.Sharding.Communication;
using Orchestrator.Sharding.Interop;
using Orchestrator.Sharding.Ring;
using Orchestrator.Sharding.Launch;

namespace Orchestrator.Tests.Sharding.Support;

/// <summary>Runs one body per rank on its own thread, each with a real TCP ring communicator on loopback.</summary>
static class RingWorld
{
    public static T[] Run<T>(int world, Func<ICommunicator, T> body, RingOptions? options = null)
    {
        TorchRuntime.Initialize();
        options ??= new RingOptions(TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(20));
        var master = $"127.0.0.1:{LocalPorts.FreePort()}";
        var results = new T[world];
        var errors = new Exception?[world];
        var threads = Enumerable.Range(0, world).Select(r => new Thread(() =>
        {
            try
            {
                using var comm = RingCommunicator.ConnectStandalone(r, world, master, options);
                results[r] = body(comm);
            }
            catch (Exception e) { errors[r] = e; }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        var first = errors.FirstOrDefault(e => e is not null);
        if (first is not null) throw new AggregateException(errors.Where(e => e is not null)!);
        return results;
    }
}
