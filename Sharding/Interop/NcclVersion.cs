namespace Orchestrator.Sharding.Interop;

/// <summary>Finds libnccl and reads its version without initialising a communicator.</summary>
public static class NcclVersion
{
    /// <summary>"2.28.9", or null with the reason when libnccl cannot be loaded.</summary>
    public static string? TryGet(out string? whyNot)
    {
        NativeLibraries.Register();
        try
        {
            var v = NcclNative.Version();
            whyNot = null;
            // NCCL_VERSION(X,Y,Z) = X*10000 + Y*100 + Z for NCCL >= 2.9
            return v >= 10000 ? $"{v / 10000}.{v / 100 % 100}.{v % 100}" : $"{v / 1000}.{v / 100 % 10}.{v % 100}";
        }
        catch (NcclException e)
        {
            whyNot = e.Message;
            return null;
        }
        catch (DllNotFoundException)
        {
            whyNot = "libnccl.so.2 not found (tried: " + string.Join(", ", NativeLibraries.Candidates(NativeLibraries.Nccl)) +
                     "); set ORCH_NCCL to the file, or ORCH_LIBTORCH to a PyTorch install's torch/lib";
            return null;
        }
    }
}
