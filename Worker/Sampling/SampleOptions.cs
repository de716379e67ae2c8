namespace Orchestrator.Worker.Sampling;

/// <summary>How to sample: temperature 0 is greedy; top-k and top-p (nucleus) filter before sampling; seeded.</summary>
public sealed record SampleOptions(int MaxTokens = 100, double Temperature = 1.0, int? TopK = null, double? TopP = null, long Seed = 1337)
{
    public SampleOptions Validate()
    {
        if (MaxTokens < 0) throw new ArgumentException($"--max-tokens {MaxTokens}: must be 0 or more");
        if (Temperature < 0) throw new ArgumentException($"--temperature {Temperature}: must be 0 (greedy) or more");
        if (TopK is < 1) throw new ArgumentException($"--top-k {TopK}: must be at least 1");
        if (TopP is not null and (<= 0 or > 1)) throw new ArgumentException($"--top-p {TopP}: must be in (0, 1]");
        return this;
    }
}
