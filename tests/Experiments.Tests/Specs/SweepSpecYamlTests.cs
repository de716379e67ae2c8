using Orchestrator.Contracts.Runs;
using Orchestrator.Experiments.Planning;
using Orchestrator.Experiments.Specs;

namespace Orchestrator.Tests.Experiments.Specs;

public sealed class SweepSpecYamlTests
{
    const string Valid = """
        name: brown-small
        data: /data/brown
        storage: /shared/sweeps
        models:
          - { n_layer: 2, n_head: 4, n_embd: 128 }
        params: [1e5, 1e6]
        tokens: [1e6, 4e6]
        flop_budgets: [1e13]
        batch: 8
        block_size: 64
        lr: 2e-3
        lr_rule: { reference_params: 1e6, exponent: -0.5 }
        concurrency: 2
        retries: 1
        """;

    [Fact]
    public void Parses_a_grid_with_targets_and_IsoFLOP_budgets()
    {
        var spec = SweepSpecYaml.Parse(Valid);
        Assert.Equal("brown-small", spec.Name);
        Assert.Equal(3, spec.Models.Length);
        Assert.Equal(new ModelShape { NLayer = 2, NHead = 4, NEmbd = 128, BlockSize = 64 }, spec.Models[0]);
        Assert.All(spec.Models, m => Assert.Equal(64, m.BlockSize));
        Assert.Equal([1_000_000L, 4_000_000L], spec.Tokens.ToArray());
        Assert.Equal(2, spec.Concurrency);
        Assert.Equal(1, spec.Retries);
        Assert.Equal("ring", spec.Backend);

        var plan = SweepPlanner.Plan(spec);
        Assert.Equal(3 * 3, plan.Count); // 3 models x (2 token budgets + 1 FLOP budget), 1 seed
        Assert.Equal(plan.Count, plan.Select(p => p.Key).Distinct().Count());
        var iso = plan.Where(p => p.FlopBudget is not null).ToList();
        Assert.All(iso, p => Assert.Equal(1e13, 6.0 * p.NonEmbeddingParams * p.Tokens, 1e13 * 1e-6));
        var first = plan[0];
        Assert.Equal("L2-d128-h4-D1e6-s1", first.Key);
        Assert.Equal(12L * 2 * 128 * 128, first.NonEmbeddingParams);
        Assert.Equal((int)Math.Ceiling(1e6 / (8 * 64)), first.Steps);
        Assert.Equal(2e-3 * Math.Pow(first.NonEmbeddingParams / 1e6, -0.5), first.Lr, 1e-12);
    }

    [Theory]
    [InlineData(1e5)]
    [InlineData(1e6)]
    [InlineData(5e7)]
    [InlineData(1e9)]
    public void Targets_become_shapes_within_25_percent(double target)
    {
        var shape = ModelShapes.FromTarget(target, 128, "params[0]");
        double n = ModelShapes.NonEmbeddingParams(shape);
        Assert.InRange(n / target, 0.8, 1.25);
        Assert.Equal(0, shape.NEmbd % shape.NHead);
    }

    [Theory]
    [InlineData("colour: red", "sweep.yaml:10: unknown key 'colour' (known keys: name, data, storage,")]
    [InlineData("checkpoint_every: 10", "sweep.yaml:10: checkpoint_every was renamed checkpoint.every")]
    [InlineData("warmup: 10", "sweep.yaml:10: warmup was renamed warmup_steps")]
    [InlineData("checkpoint: { every: 0 }", "sweep.yaml: checkpoint.every 0 must be >= 1")]
    [InlineData("models: [{ n_layer: 2, n_head: 3, n_embd: 64 }]", "sweep.yaml: models[0]: n_embd 64 is not divisible by n_head 3; pick n_head dividing n_embd")]
    [InlineData("models: [{ n_layer: 2, n_heads: 2, n_embd: 64 }]", "sweep.yaml:4: unknown key 'n_heads' in models[0] (known keys: n_layer, n_head, n_embd, params)")]
    [InlineData("storage: /s/../etc", "sweep.yaml: storage '/s/../etc' holds '..': give the folder without parent steps")]
    [InlineData("concurrency: 100000", "sweep.yaml: concurrency 100000 is over the limit of 256")]
    [InlineData("workers: [2]", "sweep.yaml:10: workers: expected an integer, got a list")]
    [InlineData("batch: -4", "sweep.yaml: batch -4 must be >= 1")]
    [InlineData("params: [10]", "sweep.yaml: params[0]: params 10 has no GPT shape within 25%")]
    [InlineData("tokens: [-5]", "sweep.yaml: tokens[0] = -5 must be a positive number")]
    [InlineData("flop_budgets: [0]", "sweep.yaml: flop_budgets[0] = 0 must be a positive number")]
    [InlineData("models: [{ n_layer: 1, n_head: 1, n_embd: 16 }, { n_layer: 1, n_head: 1, n_embd: 16 }]", "sweep.yaml: duplicate run L1-d16-h1-D1e6-s1: models[0] x tokens 1E+06 and models[1] x tokens 1E+06 give the same model")]
    [InlineData("tokens: [100]", "sweep.yaml: models[0] x tokens 100: 100 tokens is less than one step (8192 tokens = batch 16 x block 512 x workers 1)")]
    [InlineData("concurrency: 0", "sweep.yaml: concurrency 0 must be >= 1")]
    [InlineData("device: tpu", "sweep.yaml: device 'tpu' is not one of cpu, cuda")]
    [InlineData("models: [~]", "sweep.yaml: models[0] is empty: give n_layer, n_head and n_embd, or params")]
    [InlineData("options: { steps_per_second: ~ }", "sweep.yaml: options.steps_per_second has no value: give one or remove the key")]
    public void Bad_specs_get_one_clear_error(string line, string expectedStart)
    {
        // The base is valid; each case overrides one key (YAML: the later duplicate key is an error, so we replace).
        var lines = new Dictionary<string, string>
        {
            ["name"] = "name: s", ["data"] = "data: /d", ["storage"] = "storage: /s",
            ["models"] = "models: [{ n_layer: 1, n_head: 1, n_embd: 16 }]", ["tokens"] = "tokens: [1e6]",
            ["block_size"] = "block_size: 512", ["a"] = "# a", ["b"] = "# b", ["c"] = "# c",
        };
        string key = line.Split(':')[0];
        if (lines.ContainsKey(key)) lines[key] = line; else lines["extra"] = line;
        var e = Assert.Throws<InvalidDataException>(() => SweepSpecYaml.Parse(string.Join("\n", lines.Values), "sweep.yaml"));
        Assert.StartsWith(expectedStart, e.Message);
    }

    [Fact]
    public void Mup_applies_to_every_model_and_its_base_width_must_not_exceed_the_narrowest()
    {
        const string Mup = """
            name: s
            data: /d
            storage: /s
            models: [{ n_layer: 1, n_head: 2, n_embd: 64 }, { n_layer: 1, n_head: 2, n_embd: 256 }]
            tokens: [1e6]
            block_size: 64
            """;
        var spec = SweepSpecYaml.Parse(Mup + "\nparametrization: mup\nbase_width: 64");
        Assert.All(spec.Models, m => Assert.Equal(("mup", 64), (m.Parametrization, m.BaseWidth)));
        Assert.All(SweepPlanner.Plan(spec), p => Assert.Equal("mup", p.Model.Parametrization));
        Assert.All(SweepSpecYaml.Parse(Mup).Models, m => Assert.Equal(("sp", 0), (m.Parametrization, m.BaseWidth)));
        var e = Assert.Throws<InvalidDataException>(() => SweepSpecYaml.Parse(Mup + "\nparametrization: mup\nbase_width: 128", "sweep.yaml"));
        Assert.Equal("sweep.yaml: models: base_width 128 is larger than n_embd 64; μP scales up from its base width, so it must be at most the model's width", e.Message);
        e = Assert.Throws<InvalidDataException>(() => SweepSpecYaml.Parse(Mup + "\nparametrization: mup", "sweep.yaml"));
        Assert.StartsWith("sweep.yaml: models: parametrization mup needs base_width", e.Message);
        e = Assert.Throws<InvalidDataException>(() => SweepSpecYaml.Parse(Mup + "\nparametrization: ntk", "sweep.yaml"));
        Assert.Equal("sweep.yaml: models: parametrization 'ntk' is not one of sp, mup", e.Message);
        e = Assert.Throws<InvalidDataException>(() => SweepSpecYaml.Parse(Mup + "\nbase_width: 64", "sweep.yaml"));
        Assert.Equal("sweep.yaml: models: base_width 64 applies only to parametrization mup (this one is sp)", e.Message);
    }

    [Fact]
    public void A_repeated_key_is_refused_not_overwritten()
    {
        var e = Assert.Throws<InvalidDataException>(() => SweepSpecYaml.Parse("name: s\ndata: /d\nstorage: /s\nstorage: /elsewhere\nparams: [1e6]\ntokens: [1e6]\n", "sweep.yaml"));
        Assert.Equal("sweep.yaml:4: duplicate key 'storage': give each key once (YAML would let the last one win)", e.Message);
    }

    [Fact]
    public void A_name_over_100_characters_is_refused()
    {
        var e = Assert.Throws<InvalidDataException>(() => SweepSpecYaml.Parse($"name: {new string('n', 300)}\ndata: /d\nstorage: /s\nparams: [1e6]\ntokens: [1e6]\n", "sweep.yaml"));
        Assert.Equal("sweep.yaml: name: 300 characters; at most 100 (it names the sweep's folder)", e.Message);
    }

    [Fact]
    public void A_spec_that_is_not_a_mapping_is_named()
    {
        var e = Assert.Throws<InvalidDataException>(() => SweepSpecYaml.Parse("- name: s\n- data: /d\n", "list.yaml"));
        Assert.Equal("list.yaml:1: a sweep spec is a mapping of keys (name: ..., data: ..., params: [...], tokens: [...]), not a list or a single value", e.Message);
    }

    [Fact]
    public void Missing_budgets_are_named()
    {
        var e = Assert.Throws<InvalidDataException>(() => SweepSpecYaml.Parse("name: s\ndata: /d\nstorage: /s\nparams: [1e6]\n", "x.yaml"));
        Assert.Equal("x.yaml: no budgets: give tokens (a grid) and/or flop_budgets (IsoFLOP profiles)", e.Message);
    }
}

public sealed class SweepSpecFileTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("orch-spec-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Loading_a_file_makes_data_and_storage_absolute()
    {
        string path = Path.Combine(_dir, "s.yaml");
        File.WriteAllText(path, "name: s\ndata: corpus/brown\nstorage: sweeps\nparams: [1e5]\ntokens: [1e6]\n");
        var spec = SweepSpecYaml.Load(path);
        Assert.Equal(Path.GetFullPath("corpus/brown"), spec.Data);
        Assert.Equal(Path.GetFullPath("sweeps"), spec.Storage);
    }

    [Fact]
    public void A_block_size_longer_than_the_corpus_block_is_refused()
    {
        var corpus = Path.Combine(_dir, "corpus64");
        Directory.CreateDirectory(corpus);
        File.WriteAllText(Path.Combine(corpus, "manifest.json"), """{ "block_size": 64, "vocab_size": 256 }""");
        var path = Path.Combine(_dir, "block.yaml");
        File.WriteAllText(path, $"name: s\ndata: {corpus}\nstorage: {_dir}/store\nparams: [1e6]\ntokens: [1e7]\nblock_size: 128\n");
        var e = Assert.Throws<InvalidDataException>(() => SweepSpecYaml.Load(path));
        Assert.Equal($"{path}: block_size: 128 is larger than the corpus' block size 64 ({corpus}); use block_size: 64 or less, or prepare the corpus with --block-size 128", e.Message);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        var e = Assert.Throws<FileNotFoundException>(() => SweepSpecYaml.Load(Path.Combine(_dir, "none.yaml")));
        Assert.Equal($"sweep spec '{Path.Combine(_dir, "none.yaml")}' does not exist", e.Message);
    }
}
