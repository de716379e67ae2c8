using Orchestrator.Experiments.Planning;
using Orchestrator.Experiments.Specs;

namespace Orchestrator.Tests.Experiments.Specs;

/// <summary>The planner knows the corpus's unique training tokens: it warns when runs repeat data and max_epochs refuses such plans.</summary>
public sealed class EpochPlanningTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("orch-epochs-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A corpus folder whose manifest says it holds <paramref name="trainTokens"/> unique training tokens.</summary>
    string Corpus(long trainTokens)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_dir, $"corpus-{trainTokens}")).FullName;
        if (File.Exists(Path.Combine(dir, "manifest.json"))) return dir;
        var split = new Orchestrator.DataPipeline.Corpus.SplitInfo(trainTokens / 64, 8, 4, []);
        new Orchestrator.DataPipeline.Corpus.CorpusManifest
        {
            Tokenizer = "bytes", VocabSize = 257, EndOfText = 256, TokenDtype = "uint16", BlockSize = 64, ValFraction = 0.1,
            Documents = 1, SkippedDocuments = 0, Tokens = trainTokens, PaddingTokens = 0, TrainTokens = trainTokens, ValTokens = 0,
            Train = split, Val = split with { Blocks = 0 }, Sources = [], CreatedUtc = DateTime.UnixEpoch,
        }.Write(dir);
        return dir;
    }

    string Spec(string data, string extra)
    {
        var path = Path.Combine(_dir, "sweep.yaml");
        File.WriteAllText(path, $"""
            name: epochs
            data: {data}
            storage: {_dir}/sweeps
            params: [1e5, 1e6]
            tokens: [1e6, 4e6]
            batch: 8
            block_size: 64
            {extra}
            """);
        return path;
    }

    [Fact]
    public void Runs_past_one_epoch_are_warned_about_with_their_epoch_count()
    {
        var spec = SweepSpecYaml.Load(Spec(Corpus(2_000_000), ""));
        Assert.Equal(2_000_000, spec.CorpusTrainTokens);
        var plan = SweepPlanner.Plan(spec);
        Assert.Equal(0.5, SweepPlanner.Epochs(spec, plan[0]));
        Assert.Equal(1_000_000, plan[0].Tokens);
        var w = Assert.Single(SweepPlanner.EpochWarnings(spec, plan));
        Assert.StartsWith("2 of 4 runs train past one epoch of the corpus's 2E+06 unique training tokens (up to 2.0 epochs,", w);
    }

    [Fact]
    public void Max_epochs_refuses_a_plan_that_exceeds_it()
    {
        var worst = SweepPlanner.Plan(SweepSpecYaml.Load(Spec(Corpus(2_000_000), ""))).First(p => p.Tokens == 4_000_000).Key;
        var e = Assert.Throws<InvalidDataException>(() => SweepSpecYaml.Load(Spec(Corpus(2_000_000), "max_epochs: 1")));
        Assert.EndsWith($"2 of 4 runs exceed max_epochs 1: {worst} trains 4E+06 tokens = 2.0 epochs of the corpus's 2E+06 unique training tokens; lower tokens/flop_budgets or use a larger corpus", e.Message);
        Assert.Equal(1.0, SweepSpecYaml.Load(Spec(Corpus(4_000_000), "max_epochs: 1")).MaxEpochs);
        e = Assert.Throws<InvalidDataException>(() => SweepSpecYaml.Load(Spec(Path.Combine(_dir, "absent"), "max_epochs: 1")));
        Assert.Contains("max_epochs needs the corpus's unique training tokens, but", e.Message);
        e = Assert.Throws<InvalidDataException>(() => SweepSpecYaml.Load(Spec(Corpus(4_000_000), "max_epochs: 0")));
        Assert.EndsWith("max_epochs 0 must be > 0 (1: no run repeats the corpus)", e.Message);
    }

    [Fact]
    public void Holdout_takes_largest_or_a_list_of_keys()
    {
        Assert.Equal("largest", SweepSpecYaml.Load(Spec(Corpus(4_000_000), "holdout: largest")).Holdout);
        Assert.Equal("a,b", SweepSpecYaml.Load(Spec(Corpus(4_000_000), "holdout: [a, b]")).Holdout);
        Assert.Null(SweepSpecYaml.Load(Spec(Corpus(4_000_000), "")).Holdout);
    }
}
