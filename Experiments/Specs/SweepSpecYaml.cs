using System.Collections.Immutable;
using System.Text.RegularExpressions;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;
using Orchestrator.Contracts.Limits;
using Orchestrator.Contracts.Specs;
using Orchestrator.Experiments.Planning;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Orchestrator.Experiments.Specs;

/// <summary>
/// Reads and validates a sweep YAML. Every problem is an <see cref="InvalidDataException"/> (exit 2) that names the
/// file, the key and the fix: unknown keys, impossible shapes, non-positive budgets, duplicate runs.
/// </summary>
public static partial class SweepSpecYaml
{
    static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .Build();

    /// <summary>
    /// Reads a spec file. Relative data and storage paths are made absolute against the current folder here, because
    /// the coordinator that runs the sweep has its own current folder.
    /// </summary>
    public static SweepSpec Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"sweep spec '{path}' does not exist", path);
        ResourceLimits.RequireSpecSize(path);
        var spec = Parse(File.ReadAllText(path), path);
        spec = spec with { Data = Path.GetFullPath(spec.Data), Storage = Path.GetFullPath(spec.Storage) };
        if (spec.Trainer == "gpt" && CorpusBlock.Problem(spec.Data, spec.BlockSize, "block_size") is { } block)
            throw new InvalidDataException($"{path}: {block}");
        // The corpus's unique training tokens, for the planner's epoch checks (a corpus not there yet is not an error here).
        if (File.Exists(Path.Combine(spec.Data, Orchestrator.DataPipeline.Corpus.CorpusManifest.FileName)))
            spec = spec with { CorpusTrainTokens = Orchestrator.DataPipeline.Corpus.CorpusManifest.Read(spec.Data).TrainTokens };
        else if (spec.MaxEpochs is not null)
            throw new InvalidDataException($"{path}: max_epochs needs the corpus's unique training tokens, but '{spec.Data}' has no manifest.json: prepare the corpus first (orch data prepare)");
        try { SweepPlanner.Plan(spec); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: {e.Message}"); }
        return spec;
    }

    public static SweepSpec Parse(string yaml, string source = "sweep spec")
    {
        SweepYamlDocument? doc;
        try
        {
            StrictYaml.Check(yaml, typeof(SweepYamlDocument),
                "a sweep spec is a mapping of keys (name: ..., data: ..., params: [...], tokens: [...]), not a list or a single value");
        }
        catch (StrictYamlException e)
        {
            throw new InvalidDataException($"{source}:{e.Line}: {e.Problem}");
        }
        try
        {
            doc = Deserializer.Deserialize<SweepYamlDocument>(yaml);
        }
        catch (YamlException e)
        {
            throw new InvalidDataException($"{source}:{e.Start.Line}: {Explain(e)}");
        }
        if (doc is null) throw new InvalidDataException($"{source} is empty: give at least name, data, models or params, and tokens or flop_budgets");
        try
        {
            var spec = Build(doc);
            SweepPlanner.Plan(spec); // impossible budgets and duplicate runs are spec errors too
            Search.SearchPlanner.Plan(spec);
            return spec;
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{source}: {e.Message}");
        }
    }

    static SweepSpec Build(SweepYamlDocument d)
    {
        string name = Require(d.Name, "name");
        if (ResourceLimits.NameProblem(name, "name") is { } nameProblem) throw new ArgumentException(nameProblem + " (it names the sweep's folder)");
        int block = Positive(d.BlockSize ?? 128, "block_size");

        var models = new List<ModelShape>();
        for (int i = 0; i < (d.Models?.Count ?? 0); i++)
        {
            string where = $"models[{i}]";
            var m = d.Models![i] ?? throw new ArgumentException($"{where} is empty: give n_layer, n_head and n_embd, or params");
            if (m.Params is { } target)
            {
                if (m.NLayer is not null || m.NHead is not null || m.NEmbd is not null)
                    throw new ArgumentException($"{where}: give either params or n_layer/n_head/n_embd, not both");
                models.Add(ModelShapes.FromTarget(target, block, where));
                continue;
            }
            if (m.NLayer is null || m.NHead is null || m.NEmbd is null)
                throw new ArgumentException($"{where}: needs n_layer, n_head and n_embd (or params: a target non-embedding parameter count)");
            var shape = new ModelShape { NLayer = m.NLayer.Value, NHead = m.NHead.Value, NEmbd = m.NEmbd.Value, BlockSize = block };
            ModelShapes.Validate(shape, where);
            models.Add(shape);
        }
        for (int i = 0; i < (d.Params?.Count ?? 0); i++) models.Add(ModelShapes.FromTarget(d.Params![i], block, $"params[{i}]"));
        if (models.Count == 0) throw new ArgumentException("no models: give models (shapes) or params (target parameter counts)");
        string parametrization = d.Parametrization ?? Parametrizations.Standard;
        int baseWidth = d.BaseWidth ?? 0;
        var narrowest = models.MinBy(m => m.NEmbd)!;
        if (Parametrizations.Problem(parametrization, baseWidth, narrowest.NEmbd, "models") is { } parametrizationProblem)
            throw new ArgumentException(parametrizationProblem);
        models = [.. models.Select(m => m with { Parametrization = parametrization, BaseWidth = baseWidth })];

        var tokens = Budgets(d.Tokens, "tokens").Select(t => (long)Math.Round(t)).ToImmutableArray();
        var flops = Budgets(d.FlopBudgets, "flop_budgets").ToImmutableArray();
        if (tokens.IsEmpty && flops.IsEmpty)
            throw new ArgumentException("no budgets: give tokens (a grid) and/or flop_budgets (IsoFLOP profiles)");

        var seeds = (d.Seeds ?? [1]).ToImmutableArray();
        if (seeds.IsEmpty) throw new ArgumentException("seeds is empty: give at least one seed or leave it out");
        if (seeds.Distinct().Count() != seeds.Length) throw new ArgumentException("seeds has duplicates: each seed once");

        double? lrRef = null;
        double lrExp = 0;
        if (d.LrRule is { } rule)
        {
            lrRef = rule.ReferenceParams is { } r && r > 0 ? r
                : throw new ArgumentException("lr_rule.reference_params must be a positive parameter count (lr applies at that size)");
            lrExp = rule.Exponent ?? throw new ArgumentException("lr_rule.exponent is missing (e.g. -0.25: smaller lr for bigger models)");
        }

        if (d.Options is { Count: > ResourceLimits.MaxOptions })
            throw new ArgumentException($"options: {d.Options.Count} entries; at most {ResourceLimits.MaxOptions}");
        if (d.Options?.FirstOrDefault(kv => kv.Key.Length > ResourceLimits.MaxOptionLength || kv.Value?.Length > ResourceLimits.MaxOptionLength) is { Key: { } longOption })
            throw new ArgumentException($"options.{longOption[..Math.Min(40, longOption.Length)]}: keys and values may hold at most {ResourceLimits.MaxOptionLength} characters");
        if (d.Options?.FirstOrDefault(kv => kv.Value is null) is { Key: { } emptyOption })
            throw new ArgumentException($"options.{emptyOption} has no value: give one or remove the key");
        string device = OneOf(d.Device ?? "cpu", "device", "cpu", "cuda");
        var (schedule, branching) = Schedule(d);
        var search = d.Search is { } sy ? Search.SearchYamlReader.Build(sy, tokens.IsEmpty ? null : tokens.Max()) : null;
        bool lrAuto = d.Lr == "auto";
        if (lrAuto && (search is null || !search.Params.Any(p => p.Name == "lr") || models.Count < 2))
            throw new ArgumentException("lr: auto fits LR*(N) to a search's best trials: it needs a search over lr and at least 2 models");
        if (lrAuto && d.LrRule is not null) throw new ArgumentException("lr: auto and lr_rule both set the scaling runs' lr: keep one");
        if (lrAuto && branching && search!.Params.Any(p => p.Name == "batch"))
            throw new ArgumentException("lr: auto with a searched batch also fits the scaling runs' batch, which a branching sweep's fork steps cannot follow: set branching: false or search no batch");
        double peakLr = lrAuto || d.Lr is null ? 1e-3
            : double.TryParse(d.Lr, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double lr) && lr > 0 && double.IsFinite(lr) ? lr
            : throw new ArgumentException($"lr '{d.Lr}' must be a number > 0 or auto");
        return new SweepSpec
        {
            Name = name,
            Data = NoParentSegments(Require(d.Data, "data"), "data"),
            Storage = NoParentSegments(Require(d.Storage, "storage"), "storage"),
            Models = [.. models],
            Tokens = tokens,
            FlopBudgets = flops,
            Seeds = seeds,
            Batch = Positive(d.Batch ?? 16, "batch"),
            BlockSize = block,
            Lr = peakLr,
            LrAuto = lrAuto,
            Search = search,
            LrReferenceParams = lrRef,
            LrExponent = lrExp,
            WarmupSteps = NonNegative(d.WarmupSteps ?? 0, "warmup_steps"),
            WorkersPerRun = AtMost(Positive(d.Workers ?? 1, "workers"), ResourceLimits.MaxWorkersPerRun, "workers"),
            Concurrency = AtMost(Positive(d.Concurrency ?? 1, "concurrency"), ResourceLimits.MaxConcurrency, "concurrency"),
            DeviceShare = d.DeviceShare is not { } share ? null : share > 0 && share <= 1 ? share
                : throw new ArgumentException($"device_share {share} must be in (0, 1] (the fraction of one device each run's rank takes, e.g. 0.25 for four per device)"),
            Retries = NonNegative(d.Retries ?? 2, "retries"),
            Device = device,
            Backend = OneOf(d.Backend ?? (device == "cuda" ? "nccl" : "ring"), "backend", "ring", "nccl"),
            Trainer = OneOf(d.Trainer ?? "gpt", "trainer", "gpt", "light"),
            CheckpointEvery = Positive(d.Checkpoint?.Every ?? 100, "checkpoint.every"),
            EvalEvery = NonNegative(d.EvalEvery ?? 0, "eval_every"),
            Options = (d.Options ?? []).ToImmutableDictionary(),
            ReportBudgets = Budgets(d.ReportBudgets, "report_budgets").ToImmutableArray(),
            CudaGraphs = OneOf(d.CudaGraphs ?? "auto", "cuda_graphs", "auto", "on", "off"),
            Schedule = schedule,
            MinLr = d.MinLr is not { } min ? null : min >= 0 && min <= peakLr ? min
                : throw new ArgumentException($"min_lr {min} must be between 0 and lr {peakLr}"),
            CooldownFraction = d.CooldownFraction ?? LrScheduleSpec.DefaultCooldownFraction,
            CooldownShape = OneOf(d.CooldownShape ?? LrScheduleSpec.OneMinusSqrt, "cooldown_shape", LrScheduleSpec.Shapes),
            Branching = branching,
            Holdout = HoldoutKeys(d.Holdout),
            MaxEpochs = d.MaxEpochs is { } me ? (me > 0 && double.IsFinite(me) ? me : throw new ArgumentException($"max_epochs {me} must be > 0 (1: no run repeats the corpus)")) : null,
        };
    }

    /// <summary>The schedule, and whether the sweep branches (WSD's default); branching needs WSD's stable phase.</summary>
    static (string Schedule, bool Branching) Schedule(SweepYamlDocument d)
    {
        string schedule = OneOf(d.Schedule ?? LrScheduleSpec.Cosine, "schedule", LrScheduleSpec.Kinds);
        if (d.CooldownFraction is { } f && !(f > 0 && f < 1))
            throw new ArgumentException($"cooldown_fraction {f} must be inside (0, 1), e.g. 0.2 (the last 20% of each run cools down)");
        if (d.Branching == true && schedule != LrScheduleSpec.Wsd)
            throw new ArgumentException($"branching: true needs schedule: wsd (branches fork the cooldowns of a stable-LR trunk), not {schedule}");
        return (schedule, schedule == LrScheduleSpec.Wsd && d.Branching != false);
    }

    /// <summary>holdout: largest, or a list of run keys (as `orch sweep launch --dry-run` prints them).</summary>
    static string? HoldoutKeys(object? value)
    {
        var keys = value switch
        {
            null => [],
            string one => [one],
            List<object> many => many.Select(k => k as string ?? throw new ArgumentException($"holdout: '{k}' is not a run key")).ToList(),
            _ => throw new ArgumentException("holdout must be 'largest' or a list of run keys"),
        };
        if (keys.Any(k => string.IsNullOrWhiteSpace(k) || k.Contains(',')))
            throw new ArgumentException("holdout: run keys must be non-empty and hold no ','");
        return keys.Count == 0 ? null : string.Join(',', keys);
    }

    static List<double> Budgets(List<double>? values, string key)
    {
        var list = values ?? [];
        for (int i = 0; i < list.Count; i++)
            if (!(list[i] > 0) || !double.IsFinite(list[i]))
                throw new ArgumentException($"{key}[{i}] = {list[i]} must be a positive number");
        if (list.Distinct().Count() != list.Count) throw new ArgumentException($"{key} has duplicates: list each budget once");
        return list;
    }

    static string Require(string? value, string key) =>
        string.IsNullOrWhiteSpace(value) ? throw new ArgumentException($"missing '{key}'") : value;

    static int Positive(int value, string key) => value >= 1 ? value : throw new ArgumentException($"{key} {value} must be >= 1");

    static int AtMost(int value, int limit, string key) => value <= limit ? value : throw new ArgumentException($"{key} {value} is over the limit of {limit}");

    static string NoParentSegments(string path, string key) =>
        path.Split('/', '\\').Contains("..") ? throw new ArgumentException($"{key} '{path}' holds '..': give the folder without parent steps") : path;

    static int NonNegative(int value, string key) => value >= 0 ? value : throw new ArgumentException($"{key} {value} must be >= 0");

    static string OneOf(string value, string key, params string[] allowed) =>
        allowed.Contains(value) ? value : throw new ArgumentException($"{key} '{value}' is not one of {string.Join(", ", allowed)}");

    /// <summary>YamlDotNet says "Property 'x' not found on type '...'"; users need the key and the keys that exist.</summary>
    static string Explain(YamlException e)
    {
        string message = e.InnerException?.Message ?? e.Message;
        if (message.StartsWith("No node deserializer was able to deserialize the node into type", StringComparison.Ordinal)
            && message.Contains(nameof(SweepYamlDocument), StringComparison.Ordinal))
            return "a sweep spec is a mapping of keys (name: ..., data: ..., params: [...], tokens: [...]), not a list or a single value";
        var unknown = UnknownProperty().Match(e.Message);
        if (unknown.Success)
        {
            string type = unknown.Groups[2].Value;
            var known = type.EndsWith(nameof(ModelYaml)) ? "n_layer, n_head, n_embd, params"
                : type.EndsWith(nameof(LrRuleYaml)) ? "reference_params, exponent"
                : type.EndsWith(nameof(SweepCheckpointYaml)) ? "checkpoint: every"
                : type.EndsWith("SearchYaml") ? "search: " + Search.SearchYamlReader.Keys
                : type.EndsWith("SearchParamYaml") ? "a searched parameter: " + Search.SearchYamlReader.ParamKeys
                : type.EndsWith("EarlyStopYaml") ? "search.early_stop: " + Search.SearchYamlReader.EarlyStopKeys
                : "name, data, storage, models, params, tokens, flop_budgets, seeds, batch, block_size, lr, lr_rule, warmup_steps, workers, concurrency, retries, device, backend, trainer, checkpoint, eval_every, options, report_budgets, cuda_graphs, device_share, schedule, min_lr, cooldown_fraction, cooldown_shape, branching, holdout, max_epochs, search, parametrization, base_width";
            return $"unknown key '{unknown.Groups[1].Value}' (known keys: {known})";
        }
        return message;
    }

    [GeneratedRegex(@"Property '([^']+)' not found on type '([^']+)'")]
    private static partial Regex UnknownProperty();

}
