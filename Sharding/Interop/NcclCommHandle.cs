using System.Runtime.InteropServices;

namespace Orchestrator.Sharding.Interop;

/// <summary>
/// Owns an ncclComm_t. Released with ncclCommDestroy normally, or ncclCommAbort once <see cref="MarkAborting"/>
/// was called (a peer died or hung: destroy would wait for it forever).
/// </summary>
sealed class NcclCommHandle : SafeHandle
{
    volatile bool _abort;

    public NcclCommHandle() : base(0, ownsHandle: true) { }

    public NcclCommHandle(nint comm) : this() => SetHandle(comm);

    public override bool IsInvalid => handle == 0;

    public void MarkAborting() => _abort = true;

    protected override bool ReleaseHandle() =>
        (_abort ? NcclNative.ncclCommAbort(handle) : NcclNative.ncclCommDestroy(handle)) == NcclNative.Success;
}
