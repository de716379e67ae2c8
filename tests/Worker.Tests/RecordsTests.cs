using System.Text;
using Orchestrator.Worker.Records;

namespace Orchestrator.Tests.Worker;

/// <summary>The run records: TFRecord framing and Event encoding read back by our own reader, and metrics.jsonl.</summary>
public sealed class RecordsTests
{
    [Fact]
    public void Crc32c_is_the_standard_checksum()
    {
        Assert.Equal(0xE3069283u, Crc32C.Of(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0u, Crc32C.Of([]));
        // 32 zero bytes: the RFC 3720 test vector.
        Assert.Equal(0x8A9136AAu, Crc32C.Of(new byte[32]));
    }

    [Fact]
    public void An_event_file_reads_back_with_its_checksums_and_scalars()
    {
        var dir = TestData.TempDir("tb");
        string path;
        using (var w = new TensorBoardWriter(dir))
        {
            path = w.Path;
            w.Scalars(10, DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_500), [("train/loss", 3.25f), ("val/loss", 3.5f)]);
            w.Scalars(300, DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_001_000), [("train/lr", 6e-4f)]);
        }
        Assert.StartsWith("events.out.tfevents.", Path.GetFileName(path));
        var events = TensorBoardWriter.Read(path);
        Assert.Equal(3, events.Count);
        Assert.Equal(TensorBoardEvent.Version, events[0].FileVersion);
        Assert.Empty(events[0].Scalars);
        Assert.Equal((10L, 1_700_000_000.5), (events[1].Step, events[1].WallTime));
        Assert.Equal([("train/loss", 3.25f), ("val/loss", 3.5f)], events[1].Scalars);
        Assert.Equal(300, events[2].Step);
        Assert.Equal([("train/lr", 6e-4f)], events[2].Scalars);

        // One flipped byte in a record's data fails its checksum.
        var bytes = File.ReadAllBytes(path);
        bytes[^6] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => TensorBoardWriter.Read(path));
        Assert.Equal($"{path}: record 2: the data's checksum is wrong", e.Message);
    }

    [Fact]
    public void The_event_encoding_is_the_protobuf_wire_format()
    {
        // Event{wall_time: 1.0, step: 5, summary{value{tag: "a", simple_value: 2.0}}}, byte by byte.
        var bytes = new TensorBoardEvent(1.0, 5, null, [("a", 2f)]).Encode();
        byte[] expected =
        [
            0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F,     // 1: wall_time, fixed64 double 1.0
            0x10, 0x05,                              // 2: step, varint 5
            0x2A, 0x0A,                              // 5: summary, 10 bytes
            0x0A, 0x08,                              //   1: value, 8 bytes
            0x0A, 0x01, (byte)'a',                   //     1: tag "a"
            0x15, 0, 0, 0, 0x40,                     //     2: simple_value, fixed32 float 2.0
        ];
        Assert.Equal(expected, bytes);
        // Unknown fields (here 4: source_metadata-like bytes, and a varint 9) are skipped as protobuf does.
        byte[] withUnknown = [.. bytes, 0x22, 0x02, 0x01, 0x02, 0x48, 0x07];
        var back = TensorBoardEvent.Decode(withUnknown);
        Assert.Equal((1.0, 5L), (back.WallTime, back.Step));
        Assert.Equal([("a", 2f)], back.Scalars);
    }

    [Fact]
    public void A_truncated_last_record_ends_the_read()
    {
        var dir = TestData.TempDir("tbcut");
        string path;
        using (var w = new TensorBoardWriter(dir))
        {
            path = w.Path;
            w.Scalars(1, DateTimeOffset.UnixEpoch, [("train/loss", 1f)]);
        }
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^3]);
        Assert.Single(TensorBoardWriter.Read(path));
    }

    [Fact]
    public void Metrics_lines_have_every_field_and_a_resumed_run_drops_the_rows_after_its_start()
    {
        var dir = TestData.TempDir("records");
        var t0 = new DateTimeOffset(2026, 12, 4, 8, 0, 0, 250, TimeSpan.Zero);
        using (var r = new RunRecords(dir, 0, tensorBoard: true))
        {
            r.Append(new MetricsRecord(10, 40_960, 3.5, null, 6e-4, 12_000, null, 2, t0));
            r.Append(new MetricsRecord(20, 81_920, 3.0, 3.1, 5e-4, 12_500, 0.25, 2, t0.AddSeconds(1)));
            r.Append(new MetricsRecord(30, 122_880, double.NaN, null, 4e-4, 12_500, 0.25, 2, t0.AddSeconds(2)));
        }
        var path = Path.Combine(dir, RunRecords.MetricsFile);
        var lines = File.ReadAllLines(path);
        Assert.Equal(
            """{"step":10,"tokens":40960,"loss":3.5,"val_loss":null,"lr":0.0006,"tokens_per_s":12000,"mfu":null,"world_size":2,"time":"2026-12-04T08:00:00.250Z"}""",
            lines[0]);
        Assert.Equal(
            """{"step":30,"tokens":122880,"loss":null,"val_loss":null,"lr":0.0004,"tokens_per_s":12500,"mfu":0.25,"world_size":2,"time":"2026-12-04T08:00:02.250Z"}""",
            lines[2]);
        var events = TensorBoardWriter.Read(Directory.GetFiles(Path.Combine(dir, RunRecords.TensorBoardFolder)).Single());
        Assert.Equal([0L, 10, 20, 30], events.Select(e => e.Step));
        Assert.Contains(("val/loss", 3.1f), events[2].Scalars);
        Assert.Contains(("train/mfu", 0.25f), events[2].Scalars);

        // A run continuing from its step-20 checkpoint: the row of step 30 (and a half-written line) go.
        File.AppendAllText(path, """{"step":4""");
        using (var r = new RunRecords(dir, 20, tensorBoard: false))
            r.Append(new MetricsRecord(25, 102_400, 2.9, null, 4.5e-4, 12_400, null, 1, t0.AddSeconds(9)));
        Assert.Equal([10L, 20, 25], RunRecords.Read(path).Select(e => e.GetProperty("step").GetInt64()));
    }
}
