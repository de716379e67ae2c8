using System.Runtime.InteropServices;
using ncclComm_t = nint;
using cudaStream_t = nint;
using size_t = nuint;
using ncclResult_t = int;
using ncclDataType_t = int;
using ncclRedOp_t = int;

namespace Orchestrator.Sharding.Interop;

/// <summary>The nccl.h API we use, declared as in the header (NCCL 2.28). Only <see cref="NcclCommunicator"/> calls it.</summary>
static unsafe partial class NcclNative
{
    public const ncclResult_t Success = 0, InProgress = 7;
    public const ncclDataType_t Uint8 = 1, Int32 = 2, Int64 = 4, Float16 = 6, Float32 = 7, Float64 = 8, Bfloat16 = 9;
    public const ncclRedOp_t Sum = 0, Avg = 4;

    const string Lib = NativeLibraries.Nccl;

    [LibraryImport(Lib)] public static partial ncclResult_t ncclGetVersion(out int version);
    [LibraryImport(Lib)] public static partial ncclResult_t ncclGetUniqueId(NcclUniqueId* uniqueId);
    [LibraryImport(Lib)] public static partial ncclResult_t ncclCommInitRank(out ncclComm_t comm, int nranks, NcclUniqueId commId, int rank);
    [LibraryImport(Lib)] public static partial ncclResult_t ncclCommDestroy(ncclComm_t comm);
    [LibraryImport(Lib)] public static partial ncclResult_t ncclCommAbort(ncclComm_t comm);
    [LibraryImport(Lib)] public static partial ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, out ncclResult_t asyncError);
    [LibraryImport(Lib)] public static partial nint ncclGetErrorString(ncclResult_t result);
    [LibraryImport(Lib)] public static partial nint ncclGetLastError(ncclComm_t comm);
    [LibraryImport(Lib)] public static partial ncclResult_t ncclGroupStart();
    [LibraryImport(Lib)] public static partial ncclResult_t ncclGroupEnd();

    [LibraryImport(Lib)]
    public static partial ncclResult_t ncclAllReduce(nint sendbuff, nint recvbuff, size_t count, ncclDataType_t datatype,
        ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream);

    [LibraryImport(Lib)]
    public static partial ncclResult_t ncclReduceScatter(nint sendbuff, nint recvbuff, size_t recvcount, ncclDataType_t datatype,
        ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream);

    [LibraryImport(Lib)]
    public static partial ncclResult_t ncclAllGather(nint sendbuff, nint recvbuff, size_t sendcount, ncclDataType_t datatype,
        ncclComm_t comm, cudaStream_t stream);

    [LibraryImport(Lib)]
    public static partial ncclResult_t ncclBroadcast(nint sendbuff, nint recvbuff, size_t count, ncclDataType_t datatype, int root,
        ncclComm_t comm, cudaStream_t stream);

    public static string ErrorString(ncclResult_t rc) => Marshal.PtrToStringUTF8(ncclGetErrorString(rc)) ?? $"ncclResult {rc}";
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
