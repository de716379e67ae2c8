// MSBuild task (compiled by RoslynCodeTaskFactory): rewrites the GLIBCXX_3.4.32 version-needed entry of an
// ELF64 shared object to GLIBCXX_3.4.30, in place. See Directory.Build.targets for why.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class PatchGlibcxxVersion : Task
{
    const string Wanted = "GLIBCXX_3.4.32";
    const string Replacement = "GLIBCXX_3.4.30";
    const uint ShtGnuVerneed = 0x6ffffffe;

    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();
    [Required] public string Mode { get; set; } = "auto";

    public override bool Execute()
    {
        if (Mode == "never") return true;
        if (Mode == "auto" && HostHasGlibcxx32()) return true;
        foreach (var item in Files)
        {
            var path = item.ItemSpec;
            try
            {
                var result = Patch(path);
                Log.LogMessage(MessageImportance.Low, "libLibTorchSharp patch: " + path + ": " + result);
            }
            catch (Exception e)
            {
                Log.LogError("Could not patch " + path + " for GLIBCXX_3.4.32: " + e.Message);
                return false;
            }
        }
        return !Log.HasLoggedErrors;
    }

    static bool HostHasGlibcxx32()
    {
        foreach (var dir in new[] { "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/lib/x86_64-linux-gnu", "/usr/lib" })
        {
            var p = Path.Combine(dir, "libstdc++.so.6");
            if (!File.Exists(p)) continue;
            var bytes = File.ReadAllBytes(p);
            return IndexOf(bytes, Encoding.ASCII.GetBytes(Wanted + "\0"), 0) >= 0;
        }
        return false; // no libstdc++ found where we look: patching is harmless
    }

    public static string Patch(string path)
    {
        var b = File.ReadAllBytes(path);
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F' || b[4] != 2)
            throw new InvalidDataException("not an ELF64 file");
        ulong shoff = BitConverter.ToUInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A);
        int shnum = BitConverter.ToUInt16(b, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            int sh = checked((int)shoff + i * shentsize);
            if (BitConverter.ToUInt32(b, sh + 4) != ShtGnuVerneed) continue;
            int verneedOff = checked((int)BitConverter.ToUInt64(b, sh + 24));
            int link = (int)BitConverter.ToUInt32(b, sh + 40);
            int count = (int)BitConverter.ToUInt32(b, sh + 44);
            int strSh = checked((int)shoff + link * shentsize);
            int strOff = checked((int)BitConverter.ToUInt64(b, strSh + 24));
            int strSize = checked((int)BitConverter.ToUInt64(b, strSh + 32));
            int replacementName = FindString(b, strOff, strSize, Replacement);
            int patched = 0;
            int vn = verneedOff;
            for (int n = 0; n < count; n++)
            {
                int cnt = BitConverter.ToUInt16(b, vn + 2);
                int aux = vn + (int)BitConverter.ToUInt32(b, vn + 8);
                for (int a = 0; a < cnt; a++)
                {
                    int nameOff = (int)BitConverter.ToUInt32(b, aux + 8);
                    if (ReadString(b, strOff + nameOff) == Wanted)
                    {
                        if (replacementName >= 0)
                        {
                            WriteUInt32(b, aux, ElfHash(Replacement));
                            WriteUInt32(b, aux + 8, (uint)replacementName);
                        }
                        else
                        {
                            // No GLIBCXX_3.4.30 string to point at: mark the entry weak instead (VER_FLG_WEAK).
                            b[aux + 4] |= 2;
                        }
                        patched++;
                    }
                    int next = (int)BitConverter.ToUInt32(b, aux + 12);
                    if (next == 0) break;
                    aux += next;
                }
                int nextVn = (int)BitConverter.ToUInt32(b, vn + 12);
                if (nextVn == 0) break;
                vn += nextVn;
            }
            if (patched == 0) return "nothing to patch";
            var tmp = path + ".patching";
            File.WriteAllBytes(tmp, b);
            File.Copy(tmp, path, true);
            File.Delete(tmp);
            return "patched " + patched + " entr" + (patched == 1 ? "y" : "ies");
        }
        return "no version-needed section";
    }

    static int FindString(byte[] b, int start, int size, string s)
    {
        var needle = Encoding.ASCII.GetBytes(s + "\0");
        int at = start;
        while (true)
        {
            at = IndexOf(b, needle, at);
            if (at < 0 || at >= start + size) return -1;
            if (at == start || b[at - 1] == 0) return at - start;
            at++;
        }
    }

    static int IndexOf(byte[] hay, byte[] needle, int from)
    {
        for (int i = from; i <= hay.Length - needle.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && hay[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }

    static string ReadString(byte[] b, int at)
    {
        int end = at;
        while (b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, at, end - at);
    }

    static void WriteUInt32(byte[] b, int at, uint v) => BitConverter.GetBytes(v).CopyTo(b, at);

    static uint ElfHash(string name)
    {
        uint h = 0;
        foreach (char c in name)
        {
            h = (h << 4) + c;
            uint g = h & 0xf0000000;
            if (g != 0) h ^= g >> 24;
            h &= ~g;
        }
        return h;
    }
}
