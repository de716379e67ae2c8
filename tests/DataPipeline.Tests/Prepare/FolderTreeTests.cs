using System.Text;
using Orchestrator.DataPipeline.Corpus;
using Orchestrator.DataPipeline.Prepare;
using Orchestrator.DataPipeline.Tokenization;
using Orchestrator.Tests.DataPipeline.Support;

namespace Orchestrator.Tests.DataPipeline.Prepare;

/// <summary>`data prepare` over a folder tree: include/exclude globs, exact duplicates, oversized documents, split by document, bounded memory.</summary>
public sealed class FolderTreeTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static readonly string Big = string.Concat(Enumerable.Range(0, 100).Select(i => $"def function_{i:D3}(x): return x * {i}  # line\n")); // 100 lines, 4,290 bytes

    /// <summary>Big cut greedily into pieces of whole lines of at most 1,500 bytes (what the splitter must do with ASCII lines).</summary>
    static List<string> BigPieces()
    {
        var pieces = new List<string>();
        var cur = new StringBuilder();
        foreach (var line in Big.Split('\n')[..^1].Select(l => l + "\n"))
        {
            if (cur.Length + line.Length > 1500) { pieces.Add(cur.ToString()); cur.Clear(); }
            cur.Append(line);
        }
        pieces.Add(cur.ToString());
        return pieces;
    }

    string Tree()
    {
        var root = _dir["tree"];
        void Write(string rel, string text)
        {
            var path = Path.Combine(root, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
        }
        Write("a.py", "import os\nprint('a')\n");
        Write("pkg/b.py", "def b():\n    return 2\n");
        Write("pkg/copy_of_a.py", "import os\nprint('a')\n"); // an exact duplicate
        Write("pkg/tests/test_b.py", "assert b() == 2\n");    // excluded
        Write("README.md", "# Tree\nA readme.\n");
        Write("notes.txt", "not included: no pattern matches .txt\n");
        Write("data.bin", "binary-ish\n");
        Write(".hidden/secret.py", "hidden = True\n");
        Write("big.py", Big);
        return root;
    }

    async Task<CorpusManifest> Prepare(string oversized, string split = "block", double val = 0.0) =>
        (await CorpusPreparer.PrepareAsync(new PrepareOptions
        {
            Inputs = [Tree()], OutDir = _dir[$"corpus-{oversized}-{split}"], Tokenizer = "bytes", BlockSize = 16, ValFraction = val,
            Include = ["*.py", "*.md"], Exclude = ["**/tests/**"], MaxDocBytes = 1500, Oversized = oversized, Split = split,
        })).Manifest;

    static List<string> Texts(string dir) => CorpusStream.Documents(CorpusStream.Read(dir), BytesTokenizer.Instance.EndOfText)
        .Select(d => BytesTokenizer.Instance.Decode(d)).ToList();

    [Fact]
    public async Task Globs_pick_the_files_duplicates_are_dropped_and_oversized_documents_split_at_line_ends()
    {
        var m = await Prepare("split");
        Assert.Equal(["README.md", "a.py", "big.py", "pkg/b.py", "pkg/copy_of_a.py"],
            m.Sources.Select(s => Path.GetRelativePath(_dir["tree"], s.Path).Replace('\\', '/')));
        Assert.Equal(1, m.DuplicateDocuments);
        Assert.Equal(1, m.OversizedDocuments);
        Assert.Equal("split", m.OversizedPolicy);
        var texts = Texts(_dir["corpus-split-block"]);
        // big.py (4,290 bytes) in pieces of at most 1,500 bytes, each ending at a line end.
        var big = BigPieces();
        Assert.Equal(3, big.Count);
        Assert.All(big, p => Assert.InRange(p.Length, 1, 1500));
        Assert.Equal(["# Tree\nA readme.\n", "import os\nprint('a')\n", .. big, "def b():\n    return 2\n"], texts);
        Assert.Equal(6, m.Documents);
    }

    [Fact]
    public async Task Oversized_documents_can_be_skipped_and_are_counted()
    {
        var m = await Prepare("skip");
        Assert.Equal(1, m.OversizedDocuments);
        Assert.Equal("skip", m.OversizedPolicy);
        Assert.Equal(["# Tree\nA readme.\n", "import os\nprint('a')\n", "def b():\n    return 2\n"], Texts(_dir["corpus-skip-block"]));
    }

    [Fact]
    public async Task A_document_split_puts_each_document_whole_in_one_split()
    {
        var m = await Prepare("split", "document", val: 0.5);
        Assert.Equal("document", m.SplitBy);
        var dir = _dir["corpus-split-document"];
        var train = SplitTexts(dir, "train", m);
        var val = SplitTexts(dir, "val", m);
        // Documents 0..5 in reading order; with f = 0.5 the odd ones (1, 3, 5) go to val.
        var big = BigPieces();
        Assert.Equal(["# Tree\nA readme.\n", big[0], big[2]], train);
        Assert.Equal(["import os\nprint('a')\n", big[1], "def b():\n    return 2\n"], val);
    }

    static List<string> SplitTexts(string dir, string split, CorpusManifest m)
    {
        var blocks = Corpora.BlocksInOrder(dir, split, m.BlockSize);
        var stream = new List<int>();
        for (int k = 0; k < blocks.Count; k++) stream.AddRange(blocks[k][..(k == blocks.Count - 1 ? blocks[k].Length : ^1)].Select(x => (int)x));
        var eot = BytesTokenizer.Instance.EndOfText;
        while (stream.Count > 1 && stream[^1] == eot && stream[^2] == eot) stream.RemoveAt(stream.Count - 1); // the last block's padding
        return CorpusStream.Documents(stream, eot).Select(d => BytesTokenizer.Instance.Decode(d)).ToList();
    }

    [Fact]
    public async Task Bad_globs_and_limits_are_refused_before_anything_is_written()
    {
        var tree = Tree();
        var e = await Assert.ThrowsAsync<DirectoryNotFoundException>(() => CorpusPreparer.PrepareAsync(new PrepareOptions
        {
            Inputs = [tree], OutDir = _dir["none"], Tokenizer = "bytes", Include = ["*.rs"],
        }));
        Assert.Equal($"folder '{tree}' has no file matching --include *.rs", e.Message);
        var a = await Assert.ThrowsAsync<ArgumentException>(() => CorpusPreparer.PrepareAsync(new PrepareOptions
        {
            Inputs = [tree], OutDir = _dir["none"], Tokenizer = "bytes", MaxDocBytes = 10,
        }));
        Assert.Equal("--max-doc-bytes 10: give 0 (no limit) or at least 1024", a.Message);
        Assert.False(Directory.Exists(_dir["none"]));
    }

    /// <summary>
    /// Trees of 16 MB and 64 MB of text (256 and 1,024 files): the live heap, sampled with full collections while each
    /// prepares, peaks at about the same height for both. Holding the inputs or the tokens would make it 4x.
    /// </summary>
    [Fact]
    public async Task A_large_tree_prepares_in_bounded_memory()
    {
        var (small, smallText) = await PeakLiveHeap(256);
        var (large, largeText) = await PeakLiveHeap(1024);
        Assert.InRange(largeText, 63L << 20, 64L << 20);
        Assert.True(large < small * 1.5 + (8 << 20),
            $"live heap rose {small / 1e6:F1} MB for {smallText / 1e6:F1} MB of text and {large / 1e6:F1} MB for {largeText / 1e6:F1} MB");
    }

    async Task<(long PeakRise, long TextBytes)> PeakLiveHeap(int files)
    {
        var root = Directory.CreateDirectory(_dir[$"large{files}"]).FullName;
        var rng = new Random(files);
        var line = new StringBuilder();
        for (int f = 0; f < files; f++)
        {
            var folder = Directory.CreateDirectory(Path.Combine(root, $"pkg{f % 32:D2}")).FullName;
            var sb = new StringBuilder(1 << 16);
            while (sb.Length < (1 << 16) - 80)
            {
                line.Clear();
                for (int c = 0; c < 60; c++) line.Append((char)('a' + rng.Next(26)));
                sb.Append(line).Append('\n');
            }
            File.WriteAllText(Path.Combine(folder, $"m{f:D4}.py"), sb.ToString());
        }
        long baseline = GC.GetTotalMemory(forceFullCollection: true), peak = baseline;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true));
                try { await Task.Delay(50, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        var progress = new List<PrepareProgress>();
        var result = await CorpusPreparer.PrepareAsync(new PrepareOptions
        {
            Inputs = [root], OutDir = _dir[$"large{files}-corpus"], Tokenizer = "bytes", BlockSize = 256, Include = ["*.py"], Threads = 1,
            Progress = p => progress.Add(p),
        });
        stop.Cancel();
        await sampler;
        Assert.Equal(files, result.Manifest.Documents);
        Assert.True(progress.Count >= 1 && progress[^1].MegabytesPerSecond > 0);
        Directory.Delete(root, recursive: true);
        Directory.Delete(_dir[$"large{files}-corpus"], recursive: true);
        return (peak - baseline, result.TextBytes);
    }
}
