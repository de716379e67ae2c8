using Orchestrator.DataPipeline.Loading;
using Orchestrator.Worker.Model;
using Orchestrator.Worker.Training;
using Xunit.Abstractions;

namespace Orchestrator.Tests.Worker;

public sealed class BrownTrainingTests(ITestOutputHelper output)
{
    [Fact]
    public void Small_model_beats_the_unigram_baseline_on_Brown()
    {
        var corpus = BrownCorpus.Prepare(files: 30, blockSize: 64);
        // Unigram baseline: cross-entropy of the val tokens under the training tokens' unigram distribution.
        var counts = new double[257];
        long total = 0;
        using (var train = CorpusSources.Open(new LoaderOptions(corpus, "train", 64, 64, Seed: 1)))
        {
            var x = new long[64 * 64];
            var y = new long[64 * 64];
            for (int i = 0; i < 20; i++)
            {
                train.NextBatch(x, y);
                foreach (var t in y) { counts[t]++; total++; }
            }
        }
        double baseline = 0;
        long n = 0;
        using (var val = CorpusSources.Open(new LoaderOptions(corpus, "val", 16, 64, Seed: 5)))
        {
            var x = new long[16 * 64];
            var y = new long[16 * 64];
            for (int i = 0; i < 4; i++)
            {
                val.NextBatch(x, y);
                foreach (var t in y) { baseline -= Math.Log((counts[t] + 1) / (total + 257)); n++; }
            }
        }
        baseline /= n;

        var config = new GptConfig(NLayer: 2, NHead: 4, NEmbd: 64, BlockSize: 64, VocabSize: 257);
        var options = new TrainOptions
        {
            Steps = 300, BatchSize = 16, BlockSize = 64, LearningRate = 3e-3, WarmupSteps = 10, LogEvery = 50,
            EvalBatches = 4, DataDir = corpus, Seed = 5,
        };
        using var trainer = new Trainer(config, options, CorpusSources.Open);
        var result = trainer.Run();
        output.WriteLine($"val loss {result.FinalValLoss:F3}, unigram baseline {baseline:F3}, train losses {string.Join(", ", result.Losses.Select(l => l.ToString("F3")))}");
        Assert.NotNull(result.FinalValLoss);
        // Bytes of English: unigram ~3.2 nats; a 2-layer model after 300 steps is far below (2.5-2.7 seen).
        Assert.True(result.FinalValLoss < baseline - 0.4, $"val loss {result.FinalValLoss:F3} vs unigram baseline {baseline:F3}");
    }
}
