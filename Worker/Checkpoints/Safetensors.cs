using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Checkpoints;

/// <summary>
/// The safetensors format (Hugging Face), written and read by hand: 8-byte little-endian header length, a JSON
/// header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}} padded with spaces
/// to a multiple of 8, then the raw little-endian tensor bytes. PyTorch loads it with safetensors.torch.load_file.
/// </summary>
public static class Safetensors
{
    /// <summary>
    /// Writes <paramref name="tensors"/> (any device; copied to the CPU one at a time) to <paramref name="path"/> and
    /// returns the file's SHA-256 (hex). The caller handles atomicity (this writes the path it is given).
    /// </summary>
    public static string Write(string path, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header["__metadata__"] = meta;
        }
        long offset = 0;
        foreach (var (name, t) in list)
        {
            long bytes = t.numel() * t.ElementSize;
            header[name] = new JsonObject
            {
                ["dtype"] = DtypeName(t.dtype),
                ["shape"] = new JsonArray(t.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(len, padded);
            Emit(fs, sha, len);
            var headerBytes = new byte[padded];
            Array.Fill(headerBytes, (byte)' ');
            json.CopyTo(headerBytes, 0);
            Emit(fs, sha, headerBytes);
            foreach (var (_, t) in list)
            {
                // A dispose scope per tensor holds every temporary (detach, to, contiguous) until its bytes are out:
                // an unreferenced temporary can be finalized by the GC while libtorch still uses its handle, which
                // crashed resumed runs now and then (SIGSEGV in THSTensor_to_device) before this scope.
                using var scope = NewDisposeScope();
                var cpu = t.detach().to(DeviceType.CPU).contiguous();
                Emit(fs, sha, cpu.bytes);
                GC.KeepAlive(t);
            }
            fs.Flush(flushToDisk: true);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    static void Emit(FileStream fs, IncrementalHash sha, ReadOnlySpan<byte> data)
    {
        fs.Write(data);
        sha.AppendData(data);
    }

    /// <summary>
    /// Reads every tensor of a safetensors file onto the CPU, one tensor at a time (files may exceed 2 GB; a single
    /// tensor may not). A malformed or truncated file throws <see cref="InvalidDataException"/> naming it.
    /// </summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Read(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        long fileLength = fs.Length;
        if (fileLength < 8) throw Bad(path, "shorter than the 8-byte header length");
        Span<byte> len = stackalloc byte[8];
        fs.ReadExactly(len);
        long headerLen = BinaryPrimitives.ReadInt64LittleEndian(len);
        if (headerLen <= 0 || headerLen > 100_000_000 || 8 + headerLen > fileLength) throw Bad(path, "header length is out of range (truncated?)");
        var headerBytes = new byte[headerLen];
        fs.ReadExactly(headerBytes);
        JsonObject header;
        try { header = JsonNode.Parse(headerBytes)!.AsObject(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { throw Bad(path, "header is not valid JSON: " + e.Message); }
        long dataStart = 8 + headerLen;
        var tensors = new Dictionary<string, Tensor>();
        var metadata = new Dictionary<string, string>();
        try
        {
            foreach (var (name, node) in header)
            {
                if (name == "__metadata__")
                {
                    foreach (var (k, v) in node!.AsObject()) metadata[k] = v!.GetValue<string>();
                    continue;
                }
                var o = node!.AsObject();
                var dtype = ParseDtype(o["dtype"]!.GetValue<string>(), path);
                var shape = o["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
                var offs = o["data_offsets"]!.AsArray();
                long begin = offs[0]!.GetValue<long>(), end = offs[1]!.GetValue<long>();
                var t = empty(shape, dtype);
                tensors[name] = t;
                long expected = t.numel() * t.ElementSize;
                if (end - begin != expected || begin < 0 || dataStart + end > fileLength || expected > int.MaxValue)
                    throw Bad(path, $"tensor '{name}' data is out of range (truncated?)");
                var buffer = new byte[expected];
                fs.Position = dataStart + begin;
                fs.ReadExactly(buffer);
                t.bytes = buffer;
            }
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        return (tensors, metadata);
    }

    static InvalidDataException Bad(string path, string why) => new($"{path}: not a valid safetensors file: {why}");

    static string DtypeName(ScalarType t) => t switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Float16 => "F16",
        ScalarType.Float64 => "F64",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Byte => "U8",
        _ => throw new NotSupportedException($"safetensors: dtype {t} is not supported"),
    };

    static ScalarType ParseDtype(string s, string path) => s switch
    {
        "F32" => ScalarType.Float32,
        "BF16" => ScalarType.BFloat16,
        "F16" => ScalarType.Float16,
        "F64" => ScalarType.Float64,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "U8" => ScalarType.Byte,
        _ => throw Bad(path, $"dtype '{s}' is not supported"),
    };
}
