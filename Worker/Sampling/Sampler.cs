using Orchestrator.Tensors;
using Orchestrator.Worker.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Worker.Sampling;

/// <summary>
/// Autoregressive generation (nanoGPT's generate). The model runs on its device; the choice of the next token is
/// made on the CPU in fp32 with a generator seeded per call, so a seed gives the same text on any device.
/// </summary>
public static class Sampler
{
    /// <summary>Returns the <paramref name="prompt"/> followed by up to MaxTokens generated tokens.</summary>
    public static List<long> Generate(Gpt model, IReadOnlyList<long> prompt, SampleOptions options, Action<long>? onToken = null)
    {
        options.Validate();
        if (prompt.Count == 0) throw new ArgumentException("--prompt: give at least one token (an empty prompt has nothing to continue)");
        var device = model.parameters().First().device;
        var tokens = prompt.ToList();
        using var gen = new Generator((ulong)options.Seed);
        using var _ = no_grad();
        bool wasTraining = model.training;
        model.eval();
        try
        {
            for (int i = 0; i < options.MaxTokens; i++)
            {
                using var scope = NewDisposeScope();
                var context = tokens.Skip(Math.Max(0, tokens.Count - model.Config.BlockSize)).ToArray();
                var idx = tensor(context, [1, context.Length], ScalarType.Int64).to(device);
                var logits = model.call(idx)[0, -1].to(ScalarType.Float32).cpu();   // (padded V)
                long next = Choose(logits, model.Config.VocabSize, options, gen);
                tokens.Add(next);
                onToken?.Invoke(next);
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return tokens;
    }

    /// <summary>The next token from one row of logits (CPU, fp32), after masking the vocabulary padding.</summary>
    public static long Choose(Tensor logits, int vocabSize, SampleOptions o, Generator gen)
    {
        using var scope = NewDisposeScope();
        var l = logits.narrow(0, 0, vocabSize).clone();
        if (o.Temperature == 0) return l.argmax().item<long>();
        l = l.DivHeld(o.Temperature);
        using Scalar minusInfinity = double.NegativeInfinity; // held: TorchSharp's temporary Scalars can be freed mid-call
        if (o.TopK is int k && k < vocabSize)
        {
            var kth = l.topk(k).values[-1];
            l = l.masked_fill(l < kth, minusInfinity);
        }
        if (o.TopP is double p && p < 1)
        {
            var (sorted, order) = l.sort(descending: true);
            var probs = nn.functional.softmax(sorted, 0);
            var before = probs.cumsum(0) - probs;                  // mass of the tokens ranked above each one
            using Scalar threshold = p;
            var drop = before > threshold;                         // the top token always stays (before = 0)
            var dropOriginal = zeros_like(drop).scatter_(0, order, drop);
            l = l.masked_fill(dropOriginal, minusInfinity);
        }
        var dist = nn.functional.softmax(l, 0);
        return multinomial(dist, 1, replacement: false, generator: gen).item<long>();
    }
}
