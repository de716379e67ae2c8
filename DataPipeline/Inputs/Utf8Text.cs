using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Orchestrator.DataPipeline.Inputs;

/// <summary>Bytes to text under the invalid-UTF-8 policy, with the error naming the file and the byte offset.</summary>
static class Utf8Text
{
    public static string Decode(ReadOnlySpan<byte> bytes, string source, long baseOffset, ReadOptions options)
    {
        if (bytes.StartsWith("\uFEFF"u8)) { bytes = bytes[3..]; baseOffset += 3; }
        var chars = new char[bytes.Length];
        var status = Utf8.ToUtf16(bytes, chars, out int read, out int written, replaceInvalidSequences: false);
        if (status == OperationStatus.Done) return new string(chars, 0, written);
        if (options.InvalidUtf8 == InvalidUtf8Policy.Refuse)
            throw new InvalidDataException($"'{source}' is not valid UTF-8 at byte {baseOffset + read}: convert it to UTF-8, or pass --invalid-utf8 replace to replace bad bytes with U+FFFD");
        var text = Encoding.UTF8.GetString(bytes);
        int replaced = text.Count(c => c == '\uFFFD') - CountReplacementChars(bytes);
        options.Warn?.Invoke($"warning: '{source}': {replaced} invalid UTF-8 sequence(s) replaced by U+FFFD (first at byte {baseOffset + read})");
        return text;
    }

    // U+FFFD that were really in the input (EF BF BD) are not replacements.
    static int CountReplacementChars(ReadOnlySpan<byte> bytes)
    {
        int n = 0;
        for (int i = bytes.IndexOf("\uFFFD"u8); i >= 0; i = bytes.IndexOf("\uFFFD"u8))
        {
            n++;
            bytes = bytes[(i + 3)..];
        }
        return n;
    }
}
