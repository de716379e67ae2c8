using Orchestrator.Contracts.Runs;

namespace Orchestrator.Worker.Model;

/// <summary>
/// The CLI's model choice: a preset from <see cref="ModelShapes"/> (GPT-2's released sizes and small ones for CPU runs
/// and sweeps; the names RunSpecs accept too) as a <see cref="GptConfig"/>, and <c>--set</c> overrides.
/// </summary>
public static class GptPresets
{
    public static IReadOnlyCollection<string> Names => ModelShapes.PresetNames;

    /// <summary>The preset's config; <see cref="ArgumentException"/> listing the known names when it is unknown.</summary>
    public static GptConfig Get(string name) =>
        ModelShapes.TryGetPreset(name, out var p)
            ? new GptConfig(NLayer: p.NLayer, NHead: p.NHead, NEmbd: p.NEmbd, BlockSize: p.BlockSize)
            : throw new ArgumentException($"--model: unknown preset '{name}'; use one of {string.Join(", ", ModelShapes.PresetNames)} or --set n_layer=..,n_head=..,n_embd=..");

    /// <summary>
    /// Applies "key=value" overrides (n_layer, n_head, n_embd, block_size, vocab_size, bias, dropout), comma separated.
    /// </summary>
    public static GptConfig ApplyOverrides(GptConfig config, string? overrides)
    {
        if (string.IsNullOrWhiteSpace(overrides)) return config;
        foreach (var part in overrides.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kv = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (kv.Length != 2 || kv[1].Length == 0)
                throw new ArgumentException($"--set: '{part}' is not key=value (for example --set n_layer=4,n_head=4,n_embd=128)");
            config = kv[0].ToLowerInvariant() switch
            {
                "n_layer" => config with { NLayer = ParseInt(kv) },
                "n_head" => config with { NHead = ParseInt(kv) },
                "n_embd" => config with { NEmbd = ParseInt(kv) },
                "block_size" => config with { BlockSize = ParseInt(kv) },
                "vocab_size" => config with { VocabSize = ParseInt(kv) },
                "bias" => config with { Bias = kv[1] is "true" or "1" ? true : kv[1] is "false" or "0" ? false : throw new ArgumentException($"--set: bias={kv[1]} must be true or false") },
                "dropout" => config with { Dropout = double.TryParse(kv[1], System.Globalization.CultureInfo.InvariantCulture, out var d) ? d : throw new ArgumentException($"--set: dropout={kv[1]} is not a number") },
                _ => throw new ArgumentException($"--set: unknown key '{kv[0]}'; use n_layer, n_head, n_embd, block_size, vocab_size, bias or dropout"),
            };
        }
        return config;
    }

    static int ParseInt(string[] kv) =>
        int.TryParse(kv[1], out var v) ? v : throw new ArgumentException($"--set: {kv[0]}={kv[1]} is not an integer");
}
