using System.Diagnostics;
using Orchestrator.DataPipeline.Inputs;

namespace Orchestrator.DataPipeline.Tokenization.Bpe;

/// <summary>`orch tokenizer train`: read the inputs (any format `data prepare` reads), count pieces on all cores, learn merges, save.</summary>
public static class BpeTrainingRun
{
    /// <summary>Which files: include/exclude globs (as `data prepare`) and an evenly spread sample of about SampleBytes (0: all).</summary>
    public sealed record Selection(IReadOnlyList<string> Include, IReadOnlyList<string> Exclude, long SampleBytes);

    public sealed record Result(string Out, int VocabSize, int Merges, long Documents, long TextBytes, double CountSeconds, double MergeSeconds);

    public static async Task<Result> RunAsync(IReadOnlyList<string> inputs, int vocabSize, string outFile, bool force,
        string format = "auto", ReadOptions? readOptions = null, Action<string>? status = null, CancellationToken ct = default,
        Selection? selection = null)
    {
        if (vocabSize < BpeTokenizer.FirstMergeId || vocabSize > 1 << 20)
            throw new ArgumentException($"--vocab-size must be between {BpeTokenizer.FirstMergeId} (256 bytes + end-of-text) and {1 << 20}, got {vocabSize}");
        if (File.Exists(outFile) && !force)
            throw new ArgumentException($"'{outFile}' already exists: choose another --out or pass --force");
        if (Directory.Exists(outFile)) throw new ArgumentException($"--out '{outFile}' is a folder: name a file");
        if (selection?.SampleBytes < 0) throw new ArgumentException($"--sample-bytes {selection.SampleBytes}: give 0 (all) or a positive size");
        var files = Sample(InputResolver.Resolve(inputs, format, selection?.Include, selection?.Exclude), selection?.SampleBytes ?? 0);
        readOptions ??= new ReadOptions();
        var trainer = new BpeTrainer();
        var sw = Stopwatch.StartNew();
        long docs = 0, bytes = 0;
        var batch = new List<string>();
        foreach (var f in files)
        {
            await foreach (var text in DocumentReader.ReadAsync(f, readOptions, ct))
            {
                if (string.IsNullOrEmpty(text)) continue;
                batch.Add(text);
                docs++;
                bytes += System.Text.Encoding.UTF8.GetByteCount(text);
                if (batch.Count >= 2048) Flush();
            }
        }
        Flush();
        if (docs == 0) throw new InvalidDataException("the inputs hold no text to train a tokenizer on");
        double countSeconds = sw.Elapsed.TotalSeconds;
        status?.Invoke($"counted pieces of {docs} documents ({bytes / 1e6:F1} MB) in {countSeconds:F1} s; merging");
        sw.Restart();
        var tok = trainer.Train(vocabSize, ct: ct);
        double mergeSeconds = sw.Elapsed.TotalSeconds;
        if (tok.VocabSize < vocabSize)
            status?.Invoke($"warning: only {tok.VocabSize} ids: no pair occurs twice beyond that");
        tok.Save(outFile, overwrite: force);
        return new Result(outFile, tok.VocabSize, tok.Merges.Count, docs, bytes, countSeconds, mergeSeconds);

        static IReadOnlyList<InputFile> Sample(IReadOnlyList<InputFile> all, long bytes)
        {
            if (bytes <= 0) return all;
            long total = all.Sum(f => f.Bytes);
            if (total <= bytes) return all;
            // Every k-th file in path order (deterministic, spread over the whole tree), k from the size ratio.
            int step = (int)Math.Max(1, Math.Floor((double)total / bytes));
            return all.Where((_, i) => i % step == 0).ToList();
        }

        void Flush()
        {
            Parallel.ForEach(batch, new ParallelOptions { CancellationToken = ct }, trainer.AddDocument);
            batch.Clear();
        }
    }
}
