using System.Runtime.InteropServices;
using ncclComm_t = nint;

namespace Orchestrator.Sharding.Interop;

/// <summary>
/// Owns an ncclComm_t. Released with ncclCommDestroy normally, or ncclCommAbort once <see cref="MarkAborting"/>
/// was called (a peer died or hung: destroy would wait for it forever). Release runs once, when the handle is
/// disposed and the last call holding it (the marshaller's reference) has returned, so no NCCL call ever sees a
/// communicator that abort has freed.
/// </summary>
sealed partial class NcclCommHandle : SafeHandle
{
    volatile bool _abort;

    /// <summary>For the marshaller (ncclCommInitRank's out parameter).</summary>
    public NcclCommHandle() : base(0, ownsHandle: true) { }

    public override bool IsInvalid => handle == 0;

    public void MarkAborting() => _abort = true;

    protected override bool ReleaseHandle() => (_abort ? ncclCommAbort(handle) : ncclCommDestroy(handle)) == NcclResult.Success;

    [LibraryImport(NativeLibraries.Nccl)] private static partial NcclResult ncclCommDestroy(ncclComm_t comm);
    [LibraryImport(NativeLibraries.Nccl)] private static partial NcclResult ncclCommAbort(ncclComm_t comm);
}
