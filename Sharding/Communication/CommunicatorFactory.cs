using Orchestrator.Sharding.Interop;
using Orchestrator.Sharding.Ring;

namespace Orchestrator.Sharding.Communication;

/// <summary>Makes the communicator a rendezvous describes, or does a torchrun-style standalone rendezvous first.</summary>
public static class CommunicatorFactory
{
    public static ICommunicator Create(Rendezvous rdv, RingOptions? ring = null, int cudaDevice = 0, TimeSpan? ncclTimeout = null) =>
        rdv.Backend == Rendezvous.Nccl
            ? NcclCommunicator.Create(rdv, cudaDevice, ncclTimeout ?? ring?.Operation)
            : RingCommunicator.Connect(rdv, null, ring);

    /// <summary>Rank 0 hosts the rendezvous at <paramref name="master"/>; the others join it (MASTER_ADDR:MASTER_PORT).</summary>
    public static ICommunicator CreateStandalone(string backend, int rank, int world, string master, RingOptions? options = null, int cudaDevice = 0)
    {
        options ??= RingOptions.Default;
        if (backend == Rendezvous.Ring) return RingCommunicator.ConnectStandalone(rank, world, master, options);
        if (backend != Rendezvous.Nccl) throw new ArgumentException($"backend '{backend}': use 'ring' (CPU, TCP) or 'nccl' (GPU)");
        var rdv = StandaloneRendezvous.Exchange(Rendezvous.Nccl, rank, world, master, null, NcclCommunicator.MakeUniqueId, options.Connect);
        return NcclCommunicator.Create(rdv.ForRank(rank), cudaDevice, options.Operation);
    }
}
