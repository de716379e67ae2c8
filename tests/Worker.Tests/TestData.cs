using Orchestrator.DataPipeline.Loading;

namespace Orchestrator.Tests.Worker;

/// <summary>Temp folders and tiny corpora for the tests.</summary>
static class TestData
{
    public static string TempDir(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "orch-worker-tests", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>A nanoGPT-format corpus of a repeating pattern with noise, so a small model can learn something.</summary>
    public static string PatternCorpus(int vocab = 32, int length = 20_000)
    {
        var dir = TempDir("corpus");
        var rng = new Random(7);
        int[] Make(int n)
        {
            var t = new int[n];
            for (int i = 0; i < n; i++) t[i] = rng.Next(10) == 0 ? rng.Next(vocab) : i * 7 % vocab;
            return t;
        }
        CorpusSources.WriteBin(dir, "train", Make(length), vocab);
        CorpusSources.WriteBin(dir, "val", Make(length / 10), vocab);
        return dir;
    }

    public static IBatchSource Open(LoaderOptions o) => CorpusSources.Open(o);
}
