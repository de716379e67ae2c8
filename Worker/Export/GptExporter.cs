using Orchestrator.Worker.Checkpoints;
using Orchestrator.Worker.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Export;

/// <summary>Which tensor names and layout an export uses.</summary>
public enum ExportLayout
{
    /// <summary>nanoGPT's GPT module: transformer.h.N.attn.c_attn.weight as (out, in), lm_head.weight tied.</summary>
    NanoGpt,
    /// <summary>Hugging Face GPT2LMHeadModel: Conv1D weights as (in, out); zero biases written when the model has none.</summary>
    HuggingFace,
}

/// <summary>
/// Writes a model's fp32 weights as safetensors with GPT-2 tensor names, so PyTorch (nanoGPT's GPT or HF's
/// GPT2LMHeadModel) can load it. The embedding keeps its padded vocabulary rows (metadata says both sizes).
/// A μP model's two multipliers are folded into the weights, so the file is a plain GPT-2 with the model's logits:
/// the head's input multiplier m = base_width / n_embd into ln_f's weight and bias (ln_f feeds only the tied head;
/// the embedding itself cannot carry it, being the input embedding too), and the extra 1/sqrt(d_head) of μP's
/// attention scale into c_attn's query rows (weight and bias). The metadata says so (parametrization, base_width,
/// mup_folded).
/// </summary>
public static class GptExporter
{
    static readonly string[] Conv1DWeights = ["attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight"];

    /// <summary>Exports to <paramref name="path"/> via a temp file and rename; never overwrites an existing file.</summary>
    public static void Write(string path, GptConfig config, IReadOnlyDictionary<string, Tensor> weights, ExportLayout layout)
    {
        if (File.Exists(path)) throw new ArgumentException($"--out {path} already exists; choose another path or remove it first");
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var named = Map(config, weights, layout);
        var meta = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["layout"] = layout == ExportLayout.NanoGpt ? "nanogpt" : "hf",
            ["n_layer"] = config.NLayer.ToString(), ["n_head"] = config.NHead.ToString(), ["n_embd"] = config.NEmbd.ToString(),
            ["block_size"] = config.BlockSize.ToString(), ["vocab_size"] = config.VocabSize.ToString(),
            ["padded_vocab_size"] = config.PaddedVocabSize.ToString(), ["bias"] = config.Bias ? "true" : "false",
            ["parametrization"] = config.Parametrization,
        };
        if (config.Mup)
        {
            meta["base_width"] = config.BaseWidth.ToString();
            meta["mup_folded"] = "output multiplier base_width/n_embd in ln_f, attention's extra 1/sqrt(d_head) in c_attn's query rows: load as a plain GPT-2";
        }
        var temp = Path.Combine(dir, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        try
        {
            Safetensors.Write(temp, named, meta);
            File.Move(temp, path, overwrite: false);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
            foreach (var (_, t) in named) t.Dispose();
        }
    }

    /// <summary>Our names (wte.weight, h.0...) to the layout's names, with transposes and zero biases where needed.</summary>
    public static List<(string Name, Tensor Tensor)> Map(GptConfig config, IReadOnlyDictionary<string, Tensor> weights, ExportLayout layout)
    {
        var list = new List<(string, Tensor)>();
        foreach (var (name, t) in weights.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            // The scope holds the temporaries (detach, to, t) until the next native call has used them, then frees
            // them; only the tensor handed back leaves it (to the caller's scope, if any).
            using var scope = NewDisposeScope();
            var tensor = t.detach().to(ScalarType.Float32).cpu();
            if (config.Mup) tensor = FoldMup(config, name, tensor);
            if (layout == ExportLayout.HuggingFace && Conv1DWeights.Any(name.EndsWith)) tensor = tensor.t().contiguous();
            list.Add(("transformer." + name, tensor.MoveToOuterDisposeScope()));
        }
        using (var scope = NewDisposeScope())
            list.Add(("lm_head.weight", weights["wte.weight"].detach().to(ScalarType.Float32).cpu().MoveToOuterDisposeScope()));
        if (layout == ExportLayout.HuggingFace && !config.Bias)
        {
            // HF's GPT-2 always has biases; zeros compute exactly what a bias-free model does.
            long c = config.NEmbd;
            for (int i = 0; i < config.NLayer; i++)
            {
                var p = $"transformer.h.{i}.";
                list.Add((p + "ln_1.bias", zeros(c)));
                list.Add((p + "ln_2.bias", zeros(c)));
                list.Add((p + "attn.c_attn.bias", zeros(3 * c)));
                list.Add((p + "attn.c_proj.bias", zeros(c)));
                list.Add((p + "mlp.c_fc.bias", zeros(4 * c)));
                list.Add((p + "mlp.c_proj.bias", zeros(c)));
            }
            list.Add(("transformer.ln_f.bias", zeros(c)));
        }
        return list;
    }

    /// <summary>
    /// μP's multipliers folded into a copy of the tensor that carries them (others are returned as they are):
    /// ln_f's weight and bias times base_width / n_embd; c_attn's query rows (the first n_embd outputs) times
    /// 1/sqrt(d_head), so GPT-2's 1/sqrt(d_head) scores become μP's 1/d_head.
    /// </summary>
    static Tensor FoldMup(GptConfig config, string name, Tensor tensor)
    {
        double factor;
        if (name is "ln_f.weight" or "ln_f.bias") factor = config.WidthRatio;
        else if (name.EndsWith("attn.c_attn.weight", StringComparison.Ordinal) || name.EndsWith("attn.c_attn.bias", StringComparison.Ordinal))
            factor = 1.0 / Math.Sqrt(config.HeadSize);
        else return tensor;
        var folded = tensor.clone(); // never the model's own storage (a CPU fp32 tensor's .to/.cpu return it as is)
        using Scalar f = factor;
        if (name.StartsWith("ln_f.", StringComparison.Ordinal)) folded.mul_(f);
        else folded.narrow(0, 0, config.NEmbd).mul_(f);
        return folded;
    }
}
