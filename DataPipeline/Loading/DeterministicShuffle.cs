namespace Orchestrator.DataPipeline.Loading;

/// <summary>
/// Seeded permutations that are the same on every machine and every .NET version (System.Random's seeded
/// algorithm is not a contract): SplitMix64 driving a Fisher-Yates shuffle.
/// </summary>
static class DeterministicShuffle
{
    public static ulong Mix(params ReadOnlySpan<long> parts)
    {
        ulong h = 0x9E3779B97F4A7C15UL;
        foreach (var p in parts) h = SplitMix(h ^ (ulong)p);
        return h;
    }

    /// <summary>SplitMix64's step: advances <paramref name="x"/> by the golden ratio and mixes it (the one copy in the project).</summary>
    internal static ulong SplitMix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    /// <summary>A permutation of 0..n-1 (identity when <paramref name="shuffle"/> is false).</summary>
    public static int[] Permutation(int n, ulong seed, bool shuffle = true)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        if (!shuffle) return p;
        ulong state = seed;
        for (int i = n - 1; i > 0; i--)
        {
            state += 0x9E3779B97F4A7C15UL;
            ulong z = SplitMix(state);
            int j = (int)(z % (ulong)(i + 1)); // modulo bias is < 2^-32 for any n we meet
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }
}
