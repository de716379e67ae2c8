namespace Orchestrator.Worker.Model;

/// <summary>Named model shapes: GPT-2's released sizes and small ones for CPU runs and sweeps.</summary>
public static class GptPresets
{
    static readonly Dictionary<string, GptConfig> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        // GPT-2 (OpenAI, 2019): vocab 50257, context 1024, biases on.
        ["gpt2"] = new(NLayer: 12, NHead: 12, NEmbd: 768),            // 124M
        ["gpt2-medium"] = new(NLayer: 24, NHead: 16, NEmbd: 1024),    // 350M
        ["gpt2-large"] = new(NLayer: 36, NHead: 20, NEmbd: 1280),     // 774M
        ["gpt2-xl"] = new(NLayer: 48, NHead: 25, NEmbd: 1600),        // 1558M
        // Small shapes for CPU and scaling-law sweeps; vocab and block come from the corpus unless set.
        ["nano"] = new(NLayer: 2, NHead: 2, NEmbd: 64, BlockSize: 128),
        ["micro"] = new(NLayer: 4, NHead: 4, NEmbd: 128, BlockSize: 256),
        ["mini"] = new(NLayer: 6, NHead: 6, NEmbd: 384, BlockSize: 256),   // nanoGPT's shakespeare-char shape
        ["small"] = new(NLayer: 8, NHead: 8, NEmbd: 512, BlockSize: 512),
    };

    public static IReadOnlyCollection<string> Names => ByName.Keys;

    /// <summary>The preset's config; <see cref="ArgumentException"/> listing the known names when it is unknown.</summary>
    public static GptConfig Get(string name) =>
        ByName.TryGetValue(name, out var c)
            ? c
            : throw new ArgumentException($"--model: unknown preset '{name}'; use one of {string.Join(", ", ByName.Keys)} or --set n_layer=..,n_head=..,n_embd=..");

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
