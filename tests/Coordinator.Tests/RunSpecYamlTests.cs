using Orchestrator.Contracts.Runs;
using Orchestrator.Coordinator.Runs;

namespace Orchestrator.Tests.Coordinator;

public sealed class RunSpecYamlTests
{
    [Fact]
    public void Cli_md_example_parses_to_the_spec_it_shows()
    {
        var spec = RunSpecYaml.Parse("""
            name: tiny-brown
            data: /path/to/prepared/corpus
            model: { n_layer: 2, n_head: 4, n_embd: 128, block_size: 128 }
            batch: 16
            steps: 300
            lr: 0.001
            seed: 7
            workers: { min: 2, max: 3 }
            device: cpu
            backend: ring
            zero: 1
            checkpoint: { every: 20, keep: 3, path: /shared/runs }
            options: { compile: "false" }
            """);
        Assert.Equal(("tiny-brown", 2, 4, 128, 128), (spec.Name, spec.Model.NLayer, spec.Model.NHead, spec.Model.NEmbd, spec.Model.BlockSize));
        Assert.Equal((16, 300, 0.001, 7, 2, 3, 1), (spec.Batch, spec.Steps, spec.Lr, spec.Seed, spec.Workers.Min, spec.Workers.Max, spec.Zero));
        Assert.Equal((20, 3, "/shared/runs"), (spec.Checkpoint.Every, spec.Checkpoint.Keep, spec.Checkpoint.Path));
        Assert.Equal("false", spec.Options["compile"]);
        Assert.Empty(RunSpecValidator.Problems(spec));
    }

    [Fact]
    public void A_small_preset_is_a_valid_model_and_resolves_to_its_shape()
    {
        var spec = RunSpecYaml.Parse("""
            name: micro-brown
            data: /data/brown
            model: { preset: micro }
            steps: 10
            checkpoint: { path: /shared/runs }
            """);
        Assert.Empty(RunSpecValidator.Problems(spec));
        var m = ModelShapes.Resolve(spec.Model);
        Assert.Equal((4, 4, 128, 256), (m.NLayer, m.NHead, m.NEmbd, m.BlockSize));
    }

    [Fact]
    public void Every_preset_name_is_a_valid_RunSpec_model_and_an_unknown_one_lists_them_all()
    {
        var spec = new RunSpec { Name = "p", Data = "/data", Steps = 1, Checkpoint = new() { Path = "/runs" } };
        Assert.Equal(["gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl", "nano", "micro", "mini", "small"], ModelShapes.PresetNames);
        Assert.All(ModelShapes.PresetNames, name => Assert.Empty(RunSpecValidator.Problems(spec with { Model = new() { Preset = name } })));
        Assert.Equal(["model.preset: 'gpt5' is not one of gpt2, gpt2-medium, gpt2-large, gpt2-xl, nano, micro, mini, small"],
            RunSpecValidator.Problems(spec with { Model = new() { Preset = "gpt5" } }));
    }

    [Fact]
    public void Unknown_key_names_the_line_and_column()
    {
        var e = Assert.Throws<InvalidRunSpecException>(() => RunSpecYaml.Parse("name: x\nstepz: 10\n", "spec.yaml"));
        Assert.StartsWith("spec.yaml: line 2, column 1:", e.Message);
        Assert.Contains("stepz", e.Message);
    }

    [Fact]
    public void Malformed_yaml_and_empty_file_are_clear_errors()
    {
        Assert.StartsWith("spec.yaml: line", Assert.Throws<InvalidRunSpecException>(() => RunSpecYaml.Parse("name: [unclosed\n", "spec.yaml")).Message);
        Assert.Equal("spec.yaml: the file is empty (see docs/CLI.md for a RunSpec example)", Assert.Throws<InvalidRunSpecException>(() => RunSpecYaml.Parse("  \n", "spec.yaml")).Message);
        Assert.StartsWith("s: line 1, column 8:", Assert.Throws<InvalidRunSpecException>(() => RunSpecYaml.Parse("steps: ten\n", "s")).Message);
    }

    [Fact]
    public void Token_budget_resolves_to_steps_at_max_world()
    {
        var spec = new RunSpec { Tokens = 1_000_000, Batch = 8, Model = new() { BlockSize = 128 }, Workers = new() { Min = 1, Max = 4 } };
        Assert.Equal(245, spec.ResolvedSteps); // ceil(1e6 / (8 * 128 * 1 * 4))
    }
}
