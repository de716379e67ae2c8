using System.CommandLine;
using Orchestrator.Cli.Hosting;
using Orchestrator.DataPipeline.Loading;
using Orchestrator.DataPipeline.Tokenization;
using Orchestrator.Sharding.Interop;
using Orchestrator.Worker.Checkpoints;
using Orchestrator.Worker.Export;
using Orchestrator.Worker.Model;
using Orchestrator.Worker.Sampling;
using Orchestrator.Worker.Training;
using static TorchSharp.torch;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// `orch eval`, `orch sample`, `orch export`: what reads a trained checkpoint (a ckpt-NNNNNN folder, or a run folder's
/// newest valid one) in one process. Invariant: none of them writes into the run folder, and a file they write
/// (--dump-logits, export's --out) is never overwritten.
/// </summary>
public static class CheckpointCommands
{
    public static IEnumerable<Command> Create() => [Eval(), Sample(), ExportCommand()];

    public sealed record EvalJson(double ValLoss, double Perplexity, long Tokens, string Checkpoint, long Step);

    static Command Eval()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A ckpt-NNNNNN folder, or a run folder (its newest valid checkpoint)", Required = true };
        var data = new Option<string>("--data") { Description = "Prepared corpus (its val split)", Required = true };
        var batches = new Option<int>("--batches") { Description = "Validation batches to average", DefaultValueFactory = _ => 20 };
        var batch = new Option<int?>("--batch") { Description = "Sequences per batch (default: the run's)" };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
        var json = new Option<bool>("--json") { Description = "Print one JSON document" };
        var cmd = new Command("eval", "Validation loss and perplexity of a checkpoint") { checkpoint, data, batches, batch, device, json };
        CliAction.Set(cmd, pr =>
        {
            TorchRuntime.Initialize();
            var dev = DeviceInfo.Parse(pr.GetValue(device)!);
            var dataDir = pr.GetValue(data)!;
            if (pr.GetValue(batches) < 1) throw new ArgumentException("--batches must be at least 1");
            var (model, state, dir) = ModelLoader.Load(pr.GetValue(checkpoint)!, dev.Device, w => Console.Error.WriteLine("warning: " + w));
            using (model)
            {
                int b = pr.GetValue(batch) ?? state.Run.BatchSize, t = state.Run.BlockSize;
                var vocab = CorpusSources.VocabSize(dataDir);
                if (vocab > model.Config.VocabSize)
                    throw new ArgumentException($"--data {dataDir}: its vocabulary ({vocab}) does not fit the model's ({model.Config.VocabSize}); evaluate on the corpus the model was trained on");
                var loss = Evaluator.Loss(model, () => CorpusSources.Open(new(dataDir, "val", b, t, Seed: state.Run.Seed)), dev, pr.GetValue(batches));
                var result = new EvalJson(loss, Math.Exp(loss), (long)b * t * pr.GetValue(batches), dir, state.Step);
                if (pr.GetValue(json)) JsonOutput.Write(result);
                else Console.WriteLine($"{dir} (step {state.Step}): val loss {loss:F4}, perplexity {Math.Exp(loss):F2} over {result.Tokens:N0} tokens");
            }
            return CliAction.Ok;
        });
        return cmd;
    }

    public sealed record SampleJson(string Text, IReadOnlyList<long> Tokens, int PromptTokens, string Checkpoint);

    static Command Sample()
    {
        var checkpoint = new Option<string>("--checkpoint") { Required = true, Description = "A ckpt-NNNNNN folder or a run folder" };
        var prompt = new Option<string?>("--prompt") { Description = "Text to continue (encoded with the corpus' tokenizer)" };
        var tokens = new Option<string?>("--tokens") { Description = "Prompt as token ids, comma separated (instead of --prompt)" };
        var data = new Option<string?>("--data") { Description = "Corpus whose tokenizer to use (default: the run's)" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Tokens to generate", DefaultValueFactory = _ => 100 };
        var temperature = new Option<double>("--temperature") { Description = "0 = greedy", DefaultValueFactory = _ => 1.0 };
        var topK = new Option<int?>("--top-k") { Description = "Sample from the K most likely tokens only (default: all)" };
        var topP = new Option<double?>("--top-p") { Description = "Sample from the smallest set of tokens whose probability reaches P (nucleus; default: off)" };
        var seed = new Option<long>("--seed") { Description = "Seed of the sampling", DefaultValueFactory = _ => 1337 };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
        var dump = new Option<string?>("--dump-logits") { Description = "Write the prompt's tokens and fp32 logits to this safetensors file (for bench/check_export.py)" };
        var json = new Option<bool>("--json") { Description = "Print one JSON document" };
        var cmd = new Command("sample", "Generate text from a checkpoint")
        {
            checkpoint, prompt, tokens, data, maxTokens, temperature, topK, topP, seed, device, dump, json,
        };
        CliAction.Set(cmd, pr =>
        {
            TorchRuntime.Initialize();
            var options = new SampleOptions(pr.GetValue(maxTokens), pr.GetValue(temperature), pr.GetValue(topK), pr.GetValue(topP), pr.GetValue(seed)).Validate();
            var dev = DeviceInfo.Parse(pr.GetValue(device)!);
            var (model, state, dir) = ModelLoader.Load(pr.GetValue(checkpoint)!, dev.Device, w => Console.Error.WriteLine("warning: " + w));
            using (model)
            {
                ITokenizer? tokenizer = null;
                var corpus = pr.GetValue(data) ?? state.DataDir;
                if (corpus is not null && File.Exists(Path.Combine(corpus, "manifest.json"))) tokenizer = Tokenizers.Open(corpus);
                List<long> promptIds;
                if (pr.GetValue(tokens) is string ids)
                    promptIds = ids.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                        .Select(s => long.TryParse(s, out var v) && v >= 0 && v < model.Config.VocabSize ? v
                            : throw new ArgumentException($"--tokens: '{s}' is not a token id in [0, {model.Config.VocabSize})")).ToList();
                else if (pr.GetValue(prompt) is string text)
                    promptIds = (tokenizer ?? throw new ArgumentException($"--prompt needs the corpus' tokenizer: pass --data with the prepared corpus (the run's {corpus ?? "corpus"} is not available), or give --tokens"))
                        .Encode(text).Select(i => (long)i).ToList();
                else throw new ArgumentException("give --prompt TEXT or --tokens IDS");
                if (pr.GetValue(dump) is string dumpPath) DumpLogits(model, promptIds, dumpPath);
                var all = Sampler.Generate(model, promptIds, options);
                var generated = all.Skip(promptIds.Count).ToList();
                string textOut = tokenizer is null ? string.Join(",", all) : tokenizer.Decode(all);
                if (pr.GetValue(json)) JsonOutput.Write(new SampleJson(textOut, all, promptIds.Count, dir));
                else Console.WriteLine(textOut);
            }
            return CliAction.Ok;
        });
        return cmd;
    }

    static void DumpLogits(Gpt model, List<long> promptIds, string path)
    {
        if (File.Exists(path)) throw new ArgumentException($"--dump-logits {path} already exists; choose another path");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = promptIds.Take(model.Config.BlockSize).ToArray();
        var idx = tensor(ids, [1, ids.Length], ScalarType.Int64);
        var logits = model.call(idx.to(model.parameters().First().device)).to(ScalarType.Float32).cpu();
        Safetensors.Write(path, [("tokens", idx), ("logits", logits)]);
    }

    static Command ExportCommand()
    {
        var checkpoint = new Option<string>("--checkpoint") { Required = true, Description = "A ckpt-NNNNNN folder or a run folder" };
        var outFile = new Option<string>("--out") { Required = true, Description = "FILE.safetensors (never overwritten)" };
        var layout = new Option<string>("--layout") { Description = "nanogpt (GPT module names, Linear layout) or hf (GPT2LMHeadModel, Conv1D layout)", DefaultValueFactory = _ => "nanogpt" };
        layout.AcceptOnlyFromAmong("nanogpt", "hf");
        var json = new Option<bool>("--json") { Description = "Print one JSON document (file, checkpoint, step, layout, bytes)" };
        var cmd = new Command("export", "Export a checkpoint as safetensors with GPT-2 tensor names") { checkpoint, outFile, layout, json };
        CliAction.Set(cmd, pr =>
        {
            var (model, state, dir) = ModelLoader.Load(pr.GetValue(checkpoint)!, CPU, w => Console.Error.WriteLine("warning: " + w));
            using (model)
            {
                var weights = model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
                var path = pr.GetValue(outFile)!;
                GptExporter.Write(path, state.Model, weights, pr.GetValue(layout) == "hf" ? ExportLayout.HuggingFace : ExportLayout.NanoGpt);
                if (pr.GetValue(json))
                    JsonOutput.Write(new { File = Path.GetFullPath(path), Checkpoint = dir, state.Step, Layout = pr.GetValue(layout), Bytes = new FileInfo(path).Length });
                else Console.Error.WriteLine($"exported {dir} (step {state.Step}) to {path}");
            }
            return CliAction.Ok;
        });
        return cmd;
    }
}
