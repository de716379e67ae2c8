using Orchestrator.DataPipeline.Corpus;
using Orchestrator.DataPipeline.Tokenization.Bpe;

namespace Orchestrator.DataPipeline.Tokenization;

/// <summary>Makes tokenizers from a `--tokenizer` spec or from a prepared corpus' manifest.</summary>
public static class Tokenizers
{
    public const string Help = "cl100k, o200k, bytes or bpe:FILE";

    /// <summary>From a CLI spec: cl100k, o200k, bytes or bpe:FILE (a file from `orch tokenizer train`).</summary>
    public static ITokenizer FromSpec(string spec)
    {
        if (spec.StartsWith("bpe:", StringComparison.Ordinal))
        {
            var file = spec[4..];
            if (file.Length == 0) throw new ArgumentException("--tokenizer bpe:FILE needs a file: train one with `orch tokenizer train`");
            return BpeTokenizer.Load(file);
        }
        return spec.ToLowerInvariant() switch
        {
            "bytes" => BytesTokenizer.Instance,
            "cl100k" or "cl100k_base" => TiktokenAdapter.Cl100k(),
            "o200k" or "o200k_base" => TiktokenAdapter.O200k(),
            _ => throw new ArgumentException($"unknown tokenizer '{spec}': use {Help}"),
        };
    }

    /// <summary>The tokenizer a corpus was prepared with (for decoding samples, vocab size and end-of-text).</summary>
    public static ITokenizer Open(string corpusDir) => Open(CorpusManifest.Read(corpusDir), corpusDir);

    public static ITokenizer Open(CorpusManifest manifest, string corpusDir) => manifest.Tokenizer switch
    {
        "bpe" => BpeTokenizer.Load(Path.Combine(corpusDir, manifest.TokenizerFile
            ?? throw new InvalidDataException($"corpus '{corpusDir}' uses a bpe tokenizer but names no tokenizer file"))),
        var name => FromSpec(name),
    };
}
