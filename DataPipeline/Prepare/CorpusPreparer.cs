using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using Orchestrator.DataPipeline.Corpus;
using Orchestrator.DataPipeline.Inputs;
using Orchestrator.DataPipeline.Tokenization;

namespace Orchestrator.DataPipeline.Prepare;

/// <summary>
/// `orch data prepare`: inputs -> documents -> tokens -> corpus folder.
///
/// Three stages, so tokenizing (the slow part with cl100k) uses every core while the output stays
/// deterministic: one reader groups documents into chunks of about 1 MB of text and starts a tokenizing task
/// per chunk; the tasks go, in reading order, through a bounded channel (bounded memory); the writer awaits
/// them in that order and appends to the <see cref="CorpusWriter"/>. Any failure deletes what was written and
/// leaves no manifest. Memory is bounded by the channel (about 2 x threads chunks of 1 MB of text, plus the largest
/// document), the list of input paths and the duplicate filter's 16-byte hashes, whatever the size of the tree.
/// Exact duplicates and oversized documents are filtered in reading order (<see cref="DocumentFilter"/>).
/// </summary>
public static class CorpusPreparer
{
    const int ChunkChars = 1 << 20;
    const int ChunkDocs = 4096;

    sealed record Chunk(int[][] Documents, long TextBytes, long InputBytesDone);

    public static async Task<PrepareResult> PrepareAsync(PrepareOptions o, CancellationToken ct = default)
    {
        // Check everything the user gave before touching the output folder.
        var inputs = InputResolver.Resolve(o.Inputs, o.Format, o.Include, o.Exclude);
        var filter = new DocumentFilter(o.Dedupe, o.MaxDocBytes, o.Oversized);
        if (o.Split is not ("block" or "document")) throw new ArgumentException($"--split '{o.Split}': use block or document");
        var tokenizer = Tokenizers.FromSpec(o.Tokenizer);
        var dtype = TokenDtype.Choose(o.TokenDtype, tokenizer.VocabSize, tokenizer.Name);
        var writerOptions = new CorpusWriterOptions(o.BlockSize, o.ValFraction, dtype, o.RowGroupTokens, o.RowGroupsPerShard)
        {
            SplitByDocument = o.Split == "document",
        };
        writerOptions.Validate();
        if (string.IsNullOrWhiteSpace(o.TextColumn)) throw new ArgumentException("--text-column must not be empty");
        var outFull = Path.GetFullPath(o.OutDir);
        foreach (var i in inputs)
            if (Path.GetFullPath(i.Path).StartsWith(outFull + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new ArgumentException($"input '{i.Path}' is inside --out '{o.OutDir}': write the corpus elsewhere");

        bool created = OutputFolder.Prepare(o.OutDir, o.Force);
        var sw = Stopwatch.StartNew();
        bool ok = false;
        string? tokenizerFile = null;
        try
        {
            if (tokenizer.Name == "bpe")
            {
                tokenizerFile = OutputFolder.TokenizerFile;
                var dst = Path.Combine(o.OutDir, tokenizerFile);
                File.Copy(o.Tokenizer[4..], dst + ".tmp", overwrite: false);
                File.Move(dst + ".tmp", dst);
            }
            var result = await RunAsync(o, inputs, tokenizer, writerOptions, filter, tokenizerFile, sw, ct);
            ok = true;
            return result;
        }
        finally
        {
            if (!ok)
            {
                foreach (var f in new[] { OutputFolder.TokenizerFile, OutputFolder.TokenizerFile + ".tmp" })
                    File.Delete(Path.Combine(o.OutDir, f));
                if (created && !Directory.EnumerateFileSystemEntries(o.OutDir).Any()) Directory.Delete(o.OutDir);
            }
        }
    }

    static async Task<PrepareResult> RunAsync(PrepareOptions o, IReadOnlyList<InputFile> inputs, ITokenizer tokenizer,
        CorpusWriterOptions writerOptions, DocumentFilter filter, string? tokenizerFile, Stopwatch sw, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        int threads = o.Threads > 0 ? o.Threads : Environment.ProcessorCount;
        var pending = Channel.CreateBounded<Task<Chunk>>(new BoundedChannelOptions(threads * 2) { SingleReader = true, SingleWriter = true });
        var readOptions = new ReadOptions(o.TextColumn, o.InvalidUtf8, o.Warn);
        long totalBytes = inputs.Sum(i => i.Bytes);
        var sources = new SourceInfo[inputs.Count];
        long skipped = 0;
        using var limiter = new SemaphoreSlim(threads);

        var reader = Task.Run(async () =>
        {
            try
            {
                long doneBytes = 0;
                for (int f = 0; f < inputs.Count; f++)
                {
                    var file = inputs[f];
                    long docs = 0;
                    var batch = new List<string>();
                    long chars = 0;
                    if (filter.SkipsUnread(file))
                    {
                        doneBytes += file.Bytes;
                        sources[f] = new SourceInfo(file.Path, file.Format.ToString().ToLowerInvariant(), 0, file.Bytes);
                        continue;
                    }
                    await foreach (var text in DocumentReader.ReadAsync(file, readOptions, cts.Token))
                    {
                        if (string.IsNullOrEmpty(text)) { skipped++; continue; }
                        docs++;
                        foreach (var piece in filter.Apply(text))
                        {
                            batch.Add(piece);
                            chars += piece.Length;
                            if (chars >= ChunkChars || batch.Count >= ChunkDocs)
                            {
                                await pending.Writer.WriteAsync(Tokenize(batch, doneBytes), cts.Token);
                                batch = [];
                                chars = 0;
                            }
                        }
                    }
                    doneBytes += file.Bytes;
                    if (batch.Count > 0) await pending.Writer.WriteAsync(Tokenize(batch, doneBytes), cts.Token);
                    sources[f] = new SourceInfo(file.Path, file.Format.ToString().ToLowerInvariant(), docs, file.Bytes);
                }
                pending.Writer.Complete();
            }
            catch (Exception e)
            {
                pending.Writer.TryComplete(e);
            }
        }, cts.Token);

        Task<Chunk> Tokenize(List<string> docs, long doneBytes) => Task.Run(async () =>
        {
            await limiter.WaitAsync(cts.Token);
            try
            {
                var ids = new int[docs.Count][];
                long bytes = 0;
                foreach (var d in docs) bytes += Encoding.UTF8.GetByteCount(d);
                for (int i = 0; i < docs.Count; i++) ids[i] = tokenizer.Encode(docs[i]); // chunks run in parallel, not documents
                return new Chunk(ids, bytes, doneBytes);
            }
            finally { limiter.Release(); }
        }, cts.Token);

        long textBytes = 0;
        try
        {
            await using var writer = new CorpusWriter(o.OutDir, tokenizer, writerOptions);
            var lastReport = TimeSpan.Zero;
            await foreach (var task in pending.Reader.ReadAllAsync(cts.Token))
            {
                var chunk = await task;
                foreach (var doc in chunk.Documents) await writer.AddDocumentAsync(doc, cts.Token);
                textBytes += chunk.TextBytes;
                if (o.Progress is not null && sw.Elapsed - lastReport > TimeSpan.FromMilliseconds(200))
                {
                    lastReport = sw.Elapsed;
                    o.Progress(new PrepareProgress(writer.Documents, writer.Tokens, textBytes, chunk.InputBytesDone, totalBytes, sw.Elapsed));
                }
            }
            await reader;
            writer.Filtered = new FilterCounts(filter.Duplicates, filter.Oversized, filter.Policy);
            var manifest = await writer.CompleteAsync(sources, skipped, tokenizerFile, cts.Token);
            if (manifest.Val.Blocks == 0 && o.ValFraction > 0)
                o.Warn?.Invoke($"warning: the val split is empty: {manifest.Train.Blocks} block(s) of {o.BlockSize} are too few for --val-fraction {o.ValFraction}; give more text or a smaller --block-size");
            o.Progress?.Invoke(new PrepareProgress(manifest.Documents, manifest.Tokens, textBytes, totalBytes, totalBytes, sw.Elapsed));
            return new PrepareResult(manifest, textBytes, sw.Elapsed);
        }
        catch
        {
            cts.Cancel();
            try { await reader; } catch (Exception) { /* the first error is the one to report */ }
            while (pending.Reader.TryRead(out var t)) { try { await t; } catch (Exception) { } }
            throw;
        }
    }
}
