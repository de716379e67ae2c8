using System.Runtime.InteropServices;
using size_t = nuint;

namespace Orchestrator.Sharding.Interop;

/// <summary>ncclResult_t: the values this project tells apart.</summary>
enum NcclResult { Success = 0, InProgress = 7 }

/// <summary>ncclDataType_t: the element types the collectives move.</summary>
enum NcclDataType { Uint8 = 1, Float32 = 7, Bfloat16 = 9 }

/// <summary>ncclRedOp_t.</summary>
enum NcclRedOp { Sum = 0, Avg = 4 }

/// <summary>
/// The nccl.h API we use, declared as in the header (NCCL 2.28). The raw imports are private and take the
/// communicator as an <see cref="NcclCommHandle"/> and streams as <see cref="CudaStreamHandle"/>: the marshaller holds
/// a reference to each for the length of the call, so <c>ncclCommAbort</c> (the handle's release) cannot run while a
/// call, the watchdog's <c>ncclCommGetAsyncError</c> included, is using the communicator, and a call made after the
/// abort fails with <see cref="ObjectDisposedException"/> instead of touching freed memory. Only
/// <see cref="NcclCommunicator"/> and <see cref="NcclVersion"/> call the wrappers.
/// </summary>
static unsafe partial class NcclNative
{
    const string Lib = NativeLibraries.Nccl;

    [LibraryImport(Lib)] private static partial NcclResult ncclGetVersion(out int version);
    [LibraryImport(Lib)] private static partial NcclResult ncclGetUniqueId(NcclUniqueId* uniqueId);
    [LibraryImport(Lib)] private static partial NcclResult ncclCommInitRank(out NcclCommHandle comm, int nranks, NcclUniqueId commId, int rank);
    [LibraryImport(Lib)] private static partial NcclResult ncclCommGetAsyncError(NcclCommHandle comm, out NcclResult asyncError);
    [LibraryImport(Lib)] private static partial nint ncclGetErrorString(NcclResult result);
    [LibraryImport(Lib)] private static partial nint ncclGetLastError(NcclCommHandle comm);

    [LibraryImport(Lib)]
    private static partial NcclResult ncclAllReduce(nint sendbuff, nint recvbuff, size_t count, NcclDataType datatype,
        NcclRedOp op, NcclCommHandle comm, CudaStreamHandle stream);

    [LibraryImport(Lib)]
    private static partial NcclResult ncclReduceScatter(nint sendbuff, nint recvbuff, size_t recvcount, NcclDataType datatype,
        NcclRedOp op, NcclCommHandle comm, CudaStreamHandle stream);

    [LibraryImport(Lib)]
    private static partial NcclResult ncclAllGather(nint sendbuff, nint recvbuff, size_t sendcount, NcclDataType datatype,
        NcclCommHandle comm, CudaStreamHandle stream);

    [LibraryImport(Lib)]
    private static partial NcclResult ncclBroadcast(nint sendbuff, nint recvbuff, size_t count, NcclDataType datatype, int root,
        NcclCommHandle comm, CudaStreamHandle stream);

    /// <summary>NCCL_VERSION_CODE of the loaded library (throws <see cref="DllNotFoundException"/> when none loads).</summary>
    public static int Version()
    {
        Check(ncclGetVersion(out var version), "ncclGetVersion");
        return version;
    }

    public static NcclUniqueId UniqueId()
    {
        NcclUniqueId id;
        Check(ncclGetUniqueId(&id), "ncclGetUniqueId");
        return id;
    }

    /// <summary>Joins the world (blocks until every rank has called it with the same id).</summary>
    public static NcclCommHandle CommInitRank(int nranks, NcclUniqueId id, int rank)
    {
        var rc = ncclCommInitRank(out var comm, nranks, id, rank);
        if (rc != NcclResult.Success) { comm.Dispose(); Check(rc, $"ncclCommInitRank(rank {rank} of {nranks})"); }
        return comm;
    }

    /// <summary>The communicator's asynchronous error (Success while none), or null once it has been aborted.</summary>
    public static NcclResult? AsyncError(NcclCommHandle comm)
    {
        try { return ncclCommGetAsyncError(comm, out var asyncRc) == NcclResult.Success ? asyncRc : null; }
        catch (ObjectDisposedException) { return null; }
    }

    public static NcclResult AllReduce(nint send, nint recv, size_t count, NcclDataType type, NcclRedOp op, NcclCommHandle comm, CudaStreamHandle stream) =>
        ncclAllReduce(send, recv, count, type, op, comm, stream);

    public static NcclResult ReduceScatter(nint send, nint recv, size_t recvCount, NcclDataType type, NcclRedOp op, NcclCommHandle comm, CudaStreamHandle stream) =>
        ncclReduceScatter(send, recv, recvCount, type, op, comm, stream);

    public static NcclResult AllGather(nint send, nint recv, size_t sendCount, NcclDataType type, NcclCommHandle comm, CudaStreamHandle stream) =>
        ncclAllGather(send, recv, sendCount, type, comm, stream);

    public static NcclResult Broadcast(nint send, nint recv, size_t count, NcclDataType type, int root, NcclCommHandle comm, CudaStreamHandle stream) =>
        ncclBroadcast(send, recv, count, type, root, comm, stream);

    public static string ErrorString(NcclResult rc) => Marshal.PtrToStringUTF8(ncclGetErrorString(rc)) ?? $"ncclResult {(int)rc}";

    /// <summary>Throws an <see cref="NcclException"/> naming the call, the error and, given the communicator, NCCL's last error text.</summary>
    public static void Check(NcclResult rc, string call, NcclCommHandle? comm = null)
    {
        if (rc == NcclResult.Success) return;
        throw new NcclException(call, (int)rc, $"{call} failed: {ErrorString(rc)} (ncclResult {(int)rc})" + LastError(comm));
    }

    static string LastError(NcclCommHandle? comm)
    {
        if (comm is null || comm.IsClosed) return "";
        try
        {
            var last = Marshal.PtrToStringUTF8(ncclGetLastError(comm));
            return string.IsNullOrWhiteSpace(last) ? "" : ": " + last;
        }
        catch (ObjectDisposedException) { return ""; }
    }
}

/// <summary>ncclUniqueId: 128 opaque bytes made by rank 0 and handed to every rank (inside a <see cref="Communication.Rendezvous"/>).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct NcclUniqueId
{
    public const int Bytes = 128;
    public fixed byte Internal[Bytes];

    public static NcclUniqueId From(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Bytes) throw new ArgumentException($"an NCCL unique id is {Bytes} bytes, got {bytes.Length}");
        var id = new NcclUniqueId();
        bytes.CopyTo(new Span<byte>(id.Internal, Bytes));
        return id;
    }

    public byte[] ToArray()
    {
        fixed (byte* p = Internal) return new ReadOnlySpan<byte>(p, Bytes).ToArray();
    }
}
