using System.Buffers.Binary;

namespace Orchestrator.Worker.Records;

/// <summary>
/// TFRecord framing, the container of TensorBoard event files: per record a little-endian uint64 length, the masked
/// CRC-32C of those 8 bytes, the data, and the masked CRC-32C of the data. Invariant: <see cref="ReadAll"/> accepts
/// exactly what <see cref="Write"/> produces and rejects a record whose length or checksum is wrong; a truncated
/// last record (a writer killed mid-write) ends the read, as TensorBoard's own reader does.
/// </summary>
public static class TfRecord
{
    /// <summary>Records above this are refused on read (a corrupt length must not allocate gigabytes).</summary>
    public const int MaxRecordBytes = 64 << 20;

    public static void Write(Stream stream, ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Crc32C.Masked(header[..8]));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, Crc32C.Masked(data));
        stream.Write(header);
        stream.Write(data);
        stream.Write(footer);
    }

    /// <summary>Every complete record of the stream, in order.</summary>
    public static List<byte[]> ReadAll(Stream stream, string name)
    {
        var records = new List<byte[]>();
        var header = new byte[12];
        var footer = new byte[4];
        while (true)
        {
            if (!Fill(stream, header)) break;
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(header);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8)) != Crc32C.Masked(header.AsSpan(0, 8)))
                throw new InvalidDataException($"{name}: record {records.Count}: the length's checksum is wrong");
            if (length > MaxRecordBytes) throw new InvalidDataException($"{name}: record {records.Count}: {length} bytes is over the {MaxRecordBytes} limit");
            var data = new byte[length];
            if (!Fill(stream, data) || !Fill(stream, footer)) break;
            if (BinaryPrimitives.ReadUInt32LittleEndian(footer) != Crc32C.Masked(data))
                throw new InvalidDataException($"{name}: record {records.Count}: the data's checksum is wrong");
            records.Add(data);
        }
        return records;
    }

    // True when the buffer was filled; false at the end of the stream (also part-way: a truncated record).
    static bool Fill(Stream s, byte[] buffer)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = s.Read(buffer, read, buffer.Length - read);
            if (n == 0) return false;
            read += n;
        }
        return true;
    }
}
