using System.Buffers.Binary;
using System.Text;

namespace Orchestrator.Worker.Records;

/// <summary>
/// The subset of TensorFlow's Event protobuf that scalar logs need, encoded and decoded by hand:
/// Event{1: wall_time double, 2: step int64, 3: file_version string, 5: summary Summary},
/// Summary{1: repeated Value}, Value{1: tag string, 2: simple_value float}. Invariant: Decode(Encode(e)) == e, and
/// Decode skips fields it does not know (any wire type protobuf allows), as a protobuf parser would.
/// </summary>
public sealed record TensorBoardEvent(double WallTime, long Step, string? FileVersion, IReadOnlyList<(string Tag, float Value)> Scalars)
{
    /// <summary>The first event of every file (TensorBoard reads the format version from it).</summary>
    public const string Version = "brain.Event:2";

    public byte[] Encode()
    {
        var o = new MemoryStream();
        Tag(o, 1, 1);
        Span<byte> d = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(d, WallTime);
        o.Write(d);
        if (Step != 0) { Tag(o, 2, 0); Varint(o, (ulong)Step); }
        if (FileVersion is not null) Bytes(o, 3, Encoding.UTF8.GetBytes(FileVersion));
        if (Scalars.Count > 0)
        {
            var summary = new MemoryStream();
            Span<byte> f = stackalloc byte[4];
            foreach (var (tag, value) in Scalars)
            {
                var v = new MemoryStream();
                Bytes(v, 1, Encoding.UTF8.GetBytes(tag));
                Tag(v, 2, 5);
                BinaryPrimitives.WriteSingleLittleEndian(f, value);
                v.Write(f);
                Bytes(summary, 1, v.ToArray());
            }
            Bytes(o, 5, summary.ToArray());
        }
        return o.ToArray();
    }

    public static TensorBoardEvent Decode(ReadOnlySpan<byte> data)
    {
        double wall = 0;
        long step = 0;
        string? version = null;
        var scalars = new List<(string, float)>();
        var r = new Reader(data.ToArray());
        while (!r.End)
        {
            var (field, wire) = r.Key();
            if (field == 1 && wire == 1) wall = BinaryPrimitives.ReadDoubleLittleEndian(r.Fixed(8));
            else if (field == 2 && wire == 0) step = (long)r.Varint();
            else if (field == 3 && wire == 2) version = Encoding.UTF8.GetString(r.Bytes());
            else if (field == 5 && wire == 2)
            {
                var summary = new Reader(r.Bytes().ToArray());
                while (!summary.End)
                {
                    var (sf, sw) = summary.Key();
                    if (sf != 1 || sw != 2) { summary.Skip(sw); continue; }
                    var value = new Reader(summary.Bytes().ToArray());
                    string tag = "";
                    float? simple = null;
                    while (!value.End)
                    {
                        var (vf, vw) = value.Key();
                        if (vf == 1 && vw == 2) tag = Encoding.UTF8.GetString(value.Bytes());
                        else if (vf == 2 && vw == 5) simple = BinaryPrimitives.ReadSingleLittleEndian(value.Fixed(4));
                        else value.Skip(vw);
                    }
                    if (simple is float s) scalars.Add((tag, s));
                }
            }
            else r.Skip(wire);
        }
        return new TensorBoardEvent(wall, step, version, scalars);
    }

    static void Tag(Stream o, int field, int wire) => Varint(o, (ulong)((field << 3) | wire));

    static void Bytes(Stream o, int field, byte[] bytes)
    {
        Tag(o, field, 2);
        Varint(o, (ulong)bytes.Length);
        o.Write(bytes);
    }

    static void Varint(Stream o, ulong v)
    {
        while (v >= 0x80) { o.WriteByte((byte)(v | 0x80)); v >>= 7; }
        o.WriteByte((byte)v);
    }

    /// <summary>A protobuf wire-format cursor; every read checks it stays inside the message.</summary>
    sealed class Reader(byte[] data)
    {
        int pos;
        public bool End => pos >= data.Length;

        public (int Field, int Wire) Key()
        {
            ulong k = Varint();
            return ((int)(k >> 3), (int)(k & 7));
        }

        public ulong Varint()
        {
            ulong v = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (pos >= data.Length) throw new InvalidDataException("event: a varint runs past the end of its message");
                byte b = data[pos++];
                v |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80) return v;
            }
            throw new InvalidDataException("event: a varint is longer than 10 bytes");
        }

        public ReadOnlySpan<byte> Fixed(int n)
        {
            if (pos + n > data.Length) throw new InvalidDataException("event: a fixed-width field runs past the end of its message");
            pos += n;
            return data.AsSpan(pos - n, n);
        }

        public ReadOnlySpan<byte> Bytes()
        {
            ulong n = Varint();
            if (n > (ulong)(data.Length - pos)) throw new InvalidDataException("event: a length-delimited field runs past the end of its message");
            return Fixed((int)n);
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: Fixed(8); break;
                case 2: Bytes(); break;
                case 5: Fixed(4); break;
                default: throw new InvalidDataException($"event: wire type {wire} is not one protobuf uses");
            }
        }
    }
}
