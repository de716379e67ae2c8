using System.CommandLine;
using Orchestrator.Cli.Hosting;
using Orchestrator.DataPipeline.Corpus;
using Orchestrator.DataPipeline.Inputs;
using Orchestrator.DataPipeline.Prepare;
using Spectre.Console;

namespace Orchestrator.Cli.Commands;

/// <summary>`orch data prepare` and `orch data inspect` (docs/CLI.md: Data).</summary>
public static class DataCommands
{
    /// <summary>docs/CLI.md's JSON for `data prepare`: documents, tokens, shards, train_tokens, val_tokens (+ more).</summary>
    public sealed record PrepareJson(
        string Out, string Tokenizer, int VocabSize, int EndOfText, string TokenDtype, int BlockSize,
        long Documents, long SkippedDocuments, long Tokens, int Shards, long TrainTokens, long ValTokens,
        long TrainBlocks, long ValBlocks, long TextBytes, double Seconds, double MegabytesPerSecond, double CpuSeconds,
        double MegabytesPerCpuSecond, int Files, long DuplicateDocuments, long OversizedDocuments, string? OversizedPolicy, string SplitBy);

    public sealed record InspectJson(string Dir, bool Ok, CorpusManifest Manifest, IReadOnlyList<CorpusInspector.ShardCheck> Shards);

    public static Command Create()
    {
        var data = new Command("data", "Prepare and inspect token corpora");
        data.Subcommands.Add(Prepare());
        data.Subcommands.Add(Inspect());
        return data;
    }

    static Command Prepare()
    {
        var input = new Option<string[]>("--input", "-i") { Description = ".txt/.jsonl/.parquet files or folders (a Brown corpus folder is detected)", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out", "-o") { Description = "Output folder (must not hold a corpus unless --force)", Required = true };
        var tokenizer = new Option<string>("--tokenizer", "-t") { Description = "cl100k, o200k, bytes or bpe:FILE", DefaultValueFactory = _ => "cl100k" };
        var column = new Option<string>("--text-column") { Description = "Parquet column / JSONL field with the text", DefaultValueFactory = _ => "text" };
        var block = new Option<int>("--block-size") { Description = "Tokens per sequence (a training run's --block must be <= this)", DefaultValueFactory = _ => 1024 };
        var val = new Option<double>("--val-fraction") { Description = "Share of blocks for validation, spread evenly", DefaultValueFactory = _ => 0.1 };
        var format = new Option<string>("--format") { Description = "auto, text, jsonl, parquet or brown", DefaultValueFactory = _ => "auto" };
        var dtype = new Option<string>("--token-dtype") { Description = "auto (uint16 when the vocabulary fits), uint16 or int32", DefaultValueFactory = _ => "auto" };
        var invalid = new Option<string>("--invalid-utf8") { Description = "refuse (default: error naming file and byte) or replace (U+FFFD, with a warning)", DefaultValueFactory = _ => "refuse" };
        invalid.AcceptOnlyFromAmong("refuse", "replace");
        var force = new Option<bool>("--force") { Description = "Replace the corpus already in --out" };
        var threads = new Option<int>("--threads") { Description = "Tokenizing threads (default: one per core)" };
        var include = new Option<string[]>("--include") { Description = "Folder inputs: only files matching these globs, read as text unless .jsonl/.parquet ('*.py', 'docs/**/*.md'; no '/': any folder)", AllowMultipleArgumentsPerToken = true };
        var exclude = new Option<string[]>("--exclude") { Description = "Folder inputs: drop files matching these globs ('**/tests/**')", AllowMultipleArgumentsPerToken = true };
        var keepDuplicates = new Option<bool>("--keep-duplicates") { Description = "Keep documents whose text equals an earlier one's (default: drop them, by SHA-256, and count them)" };
        var maxDoc = new Option<long>("--max-doc-bytes") { Description = "Documents over this many UTF-8 bytes are split or skipped (--oversized); 0: no limit" };
        var oversized = new Option<string>("--oversized") { Description = "split (pieces cut at line ends) or skip", DefaultValueFactory = _ => "split" };
        oversized.AcceptOnlyFromAmong("split", "skip");
        var split = new Option<string>("--split") { Description = "block (every 1/f-th block to val) or document (every 1/f-th document to val, whole)", DefaultValueFactory = _ => "block" };
        split.AcceptOnlyFromAmong("block", "document");
        var json = new Option<bool>("--json") { Description = "Print one JSON document" };
        var cmd = new Command("prepare", "Tokenize text/JSONL/Parquet into Parquet token-block shards + manifest.json")
            { input, output, tokenizer, column, block, val, format, dtype, invalid, force, threads, include, exclude, keepDuplicates, maxDoc, oversized, split, json };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            bool asJson = pr.GetValue(json);
            var options = new PrepareOptions
            {
                Inputs = pr.GetValue(input) ?? [],
                OutDir = pr.GetValue(output)!,
                Tokenizer = pr.GetValue(tokenizer)!,
                TextColumn = pr.GetValue(column)!,
                BlockSize = pr.GetValue(block),
                ValFraction = pr.GetValue(val),
                Format = pr.GetValue(format)!,
                TokenDtype = pr.GetValue(dtype)!,
                InvalidUtf8 = pr.GetValue(invalid) == "replace" ? InvalidUtf8Policy.Replace : InvalidUtf8Policy.Refuse,
                Force = pr.GetValue(force),
                Threads = pr.GetValue(threads),
                Include = pr.GetValue(include) ?? [],
                Exclude = pr.GetValue(exclude) ?? [],
                Dedupe = !pr.GetValue(keepDuplicates),
                MaxDocBytes = pr.GetValue(maxDoc),
                Oversized = pr.GetValue(oversized)!,
                Split = pr.GetValue(split)!,
                Warn = w => Console.Error.WriteLine(w),
            };
            var cpu0 = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
            var result = await RunWithProgressAsync(options, ct);
            // CPU time as well as wall time: on a shared machine MB per CPU-second is the figure that means something.
            var cpu = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
            var m = result.Manifest;
            var report = new PrepareJson(options.OutDir, m.Tokenizer, m.VocabSize, m.EndOfText, m.TokenDtype, m.BlockSize,
                m.Documents, m.SkippedDocuments, m.Tokens, m.Train.Shards.Count + m.Val.Shards.Count, m.TrainTokens, m.ValTokens,
                m.Train.Blocks, m.Val.Blocks, result.TextBytes, Math.Round(result.Elapsed.TotalSeconds, 3), Math.Round(result.MegabytesPerSecond, 2),
                Math.Round(cpu, 3), Math.Round(result.TextBytes / 1e6 / Math.Max(cpu, 1e-9), 2), m.Sources.Count,
                m.DuplicateDocuments, m.OversizedDocuments, m.OversizedPolicy, m.SplitBy);
            if (asJson) JsonOutput.Write(report);
            else
            {
                var t = new Table().AddColumn("corpus").AddColumn(Markup.Escape(options.OutDir));
                t.AddRow("tokenizer", $"{m.Tokenizer} (vocab {m.VocabSize}, end-of-text {m.EndOfText}, {m.TokenDtype})");
                t.AddRow("documents", $"{m.Documents:N0} from {m.Sources.Count:N0} file(s) ({m.SkippedDocuments:N0} null/empty skipped, {m.DuplicateDocuments:N0} exact duplicates dropped" +
                    (m.OversizedPolicy is { } policy ? $", {m.OversizedDocuments:N0} over the size limit {(policy == "split" ? "split" : "skipped")})" : ")"));
                t.AddRow("tokens", $"{m.Tokens:N0}");
                t.AddRow("train", $"{m.TrainTokens:N0} tokens, {m.Train.Blocks:N0} blocks of {m.BlockSize}, {m.Train.Shards.Count} shard(s)");
                t.AddRow("val", $"{m.ValTokens:N0} tokens, {m.Val.Blocks:N0} blocks, {m.Val.Shards.Count} shard(s), split by {m.SplitBy}");
                t.AddRow("throughput", $"{result.MegabytesPerSecond:F2} MB/s of text ({result.Elapsed.TotalSeconds:F1} s)");
                AnsiConsole.Write(t);
            }
            return CliAction.Ok;
        });
        return cmd;
    }

    /// <summary>A progress bar on stderr (stdout stays clean for --json) with documents, tokens and MB/s.</summary>
    static async Task<PrepareResult> RunWithProgressAsync(PrepareOptions options, CancellationToken ct)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        if (Console.IsErrorRedirected)
        {
            var last = DateTime.MinValue;
            return await CorpusPreparer.PrepareAsync(options with
            {
                Progress = p =>
                {
                    if (DateTime.UtcNow - last < TimeSpan.FromSeconds(5)) return;
                    last = DateTime.UtcNow;
                    Console.Error.WriteLine($"prepare: {p.Documents:N0} documents, {p.Tokens:N0} tokens, {p.MegabytesPerSecond:F1} MB/s");
                },
            }, ct);
        }
        PrepareResult? result = null;
        await console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask("preparing", maxValue: 1);
                result = await CorpusPreparer.PrepareAsync(options with
                {
                    Progress = p =>
                    {
                        task.MaxValue = Math.Max(1, p.InputBytesTotal);
                        task.Value = p.InputBytesDone;
                        task.Description = $"{p.Documents:N0} docs, {p.Tokens / 1e6:F1}M tokens, {p.MegabytesPerSecond:F1} MB/s";
                    },
                }, ct);
                task.Value = task.MaxValue;
            });
        return result!;
    }

    static Command Inspect()
    {
        var dir = new Argument<string>("DIR") { Description = "A folder written by `orch data prepare`" };
        var json = new Option<bool>("--json") { Description = "Print one JSON document" };
        var cmd = new Command("inspect", "Show a corpus' manifest and verify every shard's checksum") { dir, json };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            var path = pr.GetValue(dir)!;
            var report = await CorpusInspector.InspectAsync(path, ct);
            var m = report.Manifest;
            if (pr.GetValue(json)) JsonOutput.Write(new InspectJson(path, report.Ok, m, report.Shards));
            else
            {
                AnsiConsole.MarkupLine($"[bold]{Markup.Escape(path)}[/]: {m.Tokenizer} (vocab {m.VocabSize}, end-of-text {m.EndOfText}, {m.TokenDtype}), block size {m.BlockSize}");
                AnsiConsole.MarkupLine($"{m.Documents:N0} documents, {m.Tokens:N0} tokens; train {m.TrainTokens:N0} tokens ({m.Train.Blocks:N0} blocks), val {m.ValTokens:N0} tokens ({m.Val.Blocks:N0} blocks); {m.Sources.Count} source(s); created {m.CreatedUtc:u}");
                var t = new Table().AddColumn("split").AddColumn("shard").AddColumn("blocks").AddColumn("row groups").AddColumn("bytes").AddColumn("sha256").AddColumn("check");
                foreach (var s in report.Shards)
                    t.AddRow(s.Split, Markup.Escape(s.File), s.Blocks.ToString("N0"), s.RowGroups.ToString(), s.Bytes.ToString("N0"), s.Sha256[..16] + "…",
                        s.Ok ? "[green]ok[/]" : "[red]" + Markup.Escape(s.Problem!) + "[/]");
                AnsiConsole.Write(t);
            }
            if (!report.Ok)
            {
                var bad = report.Shards.First(s => !s.Ok);
                throw new InvalidDataException($"corpus '{path}' is damaged: shard '{bad.File}': {bad.Problem}; prepare it again");
            }
            return CliAction.Ok;
        });
        return cmd;
    }
}
