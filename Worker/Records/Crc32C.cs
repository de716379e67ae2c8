using System.Numerics;

namespace Orchestrator.Worker.Records;

/// <summary>
/// CRC-32C (Castagnoli), the checksum of TFRecord framing, and its masked form. Invariant: <see cref="Of"/> is the
/// standard CRC-32C (initial value and final xor 0xFFFFFFFF; "123456789" gives 0xE3069283); BitOperations.Crc32C is
/// only the raw update step (the SSE4.2/ARMv8 instruction, or its software fallback).
/// </summary>
public static class Crc32C
{
    public static uint Of(ReadOnlySpan<byte> data)
    {
        uint crc = ~0u;
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }

    /// <summary>TFRecord's masked CRC: rotated right by 15 bits plus a constant (a CRC of data holding CRCs stays meaningful).</summary>
    public static uint Masked(ReadOnlySpan<byte> data)
    {
        uint crc = Of(data);
        return unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8u);
    }
}
