using System.CommandLine;
using Orchestrator.Cli.Hosting;
using Orchestrator.DataPipeline.Inputs;
using Orchestrator.DataPipeline.Tokenization.Bpe;

namespace Orchestrator.Cli.Commands;

/// <summary>`orch tokenizer train --input PATH... --vocab-size N --out FILE`: a byte-level BPE for `--tokenizer bpe:FILE`.</summary>
public static class TokenizerCommands
{
    public static Command Create()
    {
        var tokenizer = new Command("tokenizer", "Train a byte-level BPE tokenizer");
        var input = new Option<string[]>("--input", "-i") { Description = ".txt/.jsonl/.parquet files or folders (as `data prepare`)", Required = true, AllowMultipleArgumentsPerToken = true };
        var vocab = new Option<int>("--vocab-size") { Description = "Ids in the vocabulary: 256 bytes + end-of-text + merges", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Tokenizer file to write (JSON, format orch-bpe)", Required = true };
        var column = new Option<string>("--text-column") { Description = "Parquet column / JSONL field with the text", DefaultValueFactory = _ => "text" };
        var format = new Option<string>("--format") { Description = "auto, text, jsonl, parquet or brown", DefaultValueFactory = _ => "auto" };
        var invalid = new Option<string>("--invalid-utf8") { Description = "refuse or replace", DefaultValueFactory = _ => "refuse" };
        invalid.AcceptOnlyFromAmong("refuse", "replace");
        var force = new Option<bool>("--force") { Description = "Overwrite --out" };
        var include = new Option<string[]>("--include") { Description = "Folder inputs: only files matching these globs (e.g. '*.py'), as `data prepare`", AllowMultipleArgumentsPerToken = true };
        var exclude = new Option<string[]>("--exclude") { Description = "Folder inputs: drop files matching these globs", AllowMultipleArgumentsPerToken = true };
        var sample = new Option<long>("--sample-bytes") { Description = "Train on an evenly spread sample of the files of about this many bytes (0: all)" };
        var json = new Option<bool>("--json") { Description = "Print one JSON document" };
        var train = new Command("train", "Learn BPE merges from text (deterministic)") { input, vocab, output, column, format, invalid, force, include, exclude, sample, json };
        CliAction.Set(train, async (pr, ct) =>
        {
            var read = new ReadOptions(pr.GetValue(column)!, pr.GetValue(invalid) == "replace" ? InvalidUtf8Policy.Replace : InvalidUtf8Policy.Refuse,
                w => Console.Error.WriteLine(w));
            var r = await BpeTrainingRun.RunAsync(pr.GetValue(input) ?? [], pr.GetValue(vocab), pr.GetValue(output)!, pr.GetValue(force),
                pr.GetValue(format)!, read, s => Console.Error.WriteLine(s), ct,
                new BpeTrainingRun.Selection(pr.GetValue(include) ?? [], pr.GetValue(exclude) ?? [], pr.GetValue(sample)));
            if (pr.GetValue(json)) JsonOutput.Write(r);
            else Console.WriteLine($"wrote {r.Out}: vocab {r.VocabSize} ({r.Merges} merges) from {r.Documents:N0} documents, {r.TextBytes / 1e6:F1} MB; counting {r.CountSeconds:F1} s, merging {r.MergeSeconds:F1} s");
            return CliAction.Ok;
        });
        tokenizer.Subcommands.Add(train);
        return tokenizer;
    }
}
