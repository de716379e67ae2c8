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
    public void A_mup_model_keeps_its_parametrization_and_base_width()
    {
        var spec = RunSpecYaml.Parse("""
            name: mup
            data: /d
            model: { n_layer: 2, n_head: 4, n_embd: 256, parametrization: mup, base_width: 64 }
            steps: 10
            checkpoint: { path: /shared/runs }
            """);
        Assert.Equal(("mup", 64), (spec.Model.Parametrization, spec.Model.BaseWidth));
        Assert.Empty(RunSpecValidator.Problems(spec));
        Assert.Equal("sp", RunSpecYaml.Parse("name: a\ndata: /d\nsteps: 1\ncheckpoint: { path: /r }").Model.Parametrization);
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
        Assert.StartsWith("spec.yaml: line 2, column 1: unknown key 'stepz' (known keys: name, data, model, batch, steps, lr, seed, workers,", e.Message);
        var nested = Assert.Throws<InvalidRunSpecException>(() => RunSpecYaml.Parse("name: x\nmodel: { n_layer: 2, n_heads: 2 }\n", "spec.yaml"));
        Assert.StartsWith("spec.yaml: line 2, column 22: unknown key 'n_heads' in model (known keys: preset, n_layer, n_head, n_embd, block_size, dropout", nested.Message);
    }

    [Theory]
    [InlineData("warmup: 5\n", "s.yaml: line 1, column 1: warmup was renamed warmup_steps")]
    [InlineData("checkpoint_every: 5\n", "s.yaml: line 1, column 1: checkpoint_every was renamed checkpoint.every")]
    [InlineData("model: { block: 64 }\n", "s.yaml: line 1, column 10: block was renamed block_size")]
    [InlineData("steps: 20\nsteps: 99999\n", "s.yaml: line 2, column 1: duplicate key 'steps': give each key once (YAML would let the last one win)")]
    [InlineData("checkpoint: { path: /a, path: /b }\n", "s.yaml: line 1, column 25: duplicate key 'path': give each key once (YAML would let the last one win)")]
    [InlineData("steps: [1, 2]\n", "s.yaml: line 1, column 8: steps: expected an integer, got a list")]
    [InlineData("steps: 3000000000\n", "s.yaml: line 1, column 8: steps: 3000000000 is not an integer in [-2147483648, 2147483647]")]
    [InlineData("lr: .nan\n", "s.yaml: line 1, column 5: lr: .nan is not a finite number")]
    [InlineData("lr: fast\n", "s.yaml: line 1, column 5: lr: 'fast' is not a number")]
    [InlineData("model: 12\n", "s.yaml: line 1, column 8: model: expected a mapping (key: value, ...), got a single value")]
    [InlineData("- name: x\n", "s.yaml: line 1, column 1: a RunSpec is a mapping of keys (name: ..., data: ..., model: {...}, steps: ...), not a list or a single value")]
    [InlineData("name: x\n---\nname: y\n", "s.yaml: line 3, column 1: more than one YAML document ('---'): give one spec per file")]
    public void Strict_reader_refuses_with_key_and_line(string yaml, string expected)
    {
        Assert.Equal(expected, Assert.Throws<InvalidRunSpecException>(() => RunSpecYaml.Parse(yaml, "s.yaml")).Message);
    }

    [Fact]
    public void Malformed_yaml_says_where_not_what_state_the_parser_was_in()
    {
        var e = Assert.Throws<InvalidRunSpecException>(() => RunSpecYaml.Parse("name: x\nmodel: { n_layer: 2\nsteps: 3\n", "s.yaml"));
        Assert.Matches(@"^s\.yaml: line \d+, column \d+: ", e.Message);
        Assert.DoesNotContain("Operation is not valid", e.Message);
    }

    [Theory]
    [InlineData("steps: -5", "steps: -5 must be positive")]
    [InlineData("tokens: -5", "tokens: -5 must be positive")]
    [InlineData("seed: -1", "seed: -1 must not be negative")]
    [InlineData("checkpoint: { path: /shared/../etc }", "checkpoint.path: '/shared/../etc' holds '..': give the folder without parent steps")]
    [InlineData("checkpoint: { path: runs }", "checkpoint.path: 'runs' is not an absolute path (workers run in other directories)")]
    [InlineData("data: /d/../../etc", "data: '/d/../../etc' holds '..': give the folder without parent steps")]
    [InlineData("workers: { min: 1, max: 100000 }", "workers.max: 100000 is over the limit of 1024")]
    [InlineData("model: { n_embd: 64, parametrization: mup, base_width: 128 }", "model: base_width 128 is larger than n_embd 64; μP scales up from its base width, so it must be at most the model's width")]
    [InlineData("model: { parametrization: mup }", "model: parametrization mup needs base_width, the width its learning rate was tuned at (e.g. base_width 128)")]
    [InlineData("model: { parametrization: ntk }", "model: parametrization 'ntk' is not one of sp, mup")]
    [InlineData("model: { base_width: 64 }", "model: base_width 64 applies only to parametrization mup (this one is sp)")]
    public void Values_are_refused_with_their_key(string line, string problem)
    {
        var lines = new Dictionary<string, string>
        {
            ["name"] = "name: ok", ["data"] = "data: /d", ["steps"] = "steps: 10", ["checkpoint"] = "checkpoint: { path: /shared/runs }",
        };
        var key = line.Split(':')[0];
        if (key == "tokens") lines.Remove("steps");
        lines[key] = line;
        var spec = RunSpecYaml.Parse(string.Join("\n", lines.Values), "s.yaml");
        Assert.Contains(problem, RunSpecValidator.Problems(spec));
    }

    [Fact]
    public void Names_are_limited_to_100_characters()
    {
        var spec = new RunSpec { Name = new string('a', 10_000_000), Data = "/d", Steps = 1, Checkpoint = new() { Path = "/r" } };
        Assert.Equal(["name: 10000000 characters; at most 100"], RunSpecValidator.Problems(spec));
        Assert.Empty(RunSpecValidator.Problems(spec with { Name = new string('a', 100) }));
    }

    [Fact]
    public void A_spec_file_over_a_megabyte_is_refused_before_it_is_read()
    {
        var path = Path.Combine(Path.GetTempPath(), $"orch-big-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "name: x\n" + new string('#', 2 << 20));
        try
        {
            var e = Assert.Throws<ArgumentException>(() => RunSpecYaml.Load(path));
            Assert.Equal($"{path}: 2,097,160 bytes; a spec may hold at most 1,048,576", e.Message);
        }
        finally { File.Delete(path); }
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
