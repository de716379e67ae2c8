using System.CommandLine;
using System.Globalization;
using Orchestrator.Cli.Hosting;
using Orchestrator.Contracts.Limits;
using Orchestrator.Contracts.Runs;
using Orchestrator.DataPipeline.Loading;
using Orchestrator.Experiments.Reports;
using Orchestrator.Sharding.Interop;
using Orchestrator.Worker.Training;
using Spectre.Console;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// `orch check mup`: μP's coordinate check (<see cref="CoordinateCheck"/>) as a table, per-layer growths from the
/// narrowest to the widest width, and with --out a CSV and a plot per parametrization. Everything is checked before
/// the first model is built (the widths, the base width, the output folder).
/// </summary>
public static class CheckCommands
{
    public sealed record CheckRowJson(string Parametrization, int Width, string Layer, double Activation, double Update);
    public sealed record GrowthJson(string Parametrization, string Layer, double ActivationGrowth, double UpdateGrowth);
    public sealed record CheckMupJson(IReadOnlyList<int> Widths, int BaseWidth, int Steps, double Lr, IReadOnlyList<CheckRowJson> Rows, IReadOnlyList<GrowthJson> Growth, IReadOnlyList<string> Files);

    public static Command Create()
    {
        var check = new Command("check", "Checks of the model's behaviour");
        check.Subcommands.Add(Mup());
        return check;
    }

    static Command Mup()
    {
        var d = new CoordinateCheckOptions();
        var widths = new Option<string>("--widths") { Description = "Widths (n_embd), comma separated, narrowest first", DefaultValueFactory = _ => string.Join(",", d.Widths) };
        var baseWidth = new Option<int?>("--base-width") { Description = "μP's base width (default: the narrowest)" };
        var layers = new Option<int>("--layers") { Description = "Layers of every model of the check", DefaultValueFactory = _ => d.Layers };
        var heads = new Option<int>("--heads") { Description = "Heads at every width (d_head grows with the width)", DefaultValueFactory = _ => d.Heads };
        var steps = new Option<int>("--steps") { Description = "Training steps at each width", DefaultValueFactory = _ => d.Steps };
        var lr = new Option<double>("--lr") { Description = "Constant learning rate", DefaultValueFactory = _ => d.LearningRate };
        var batch = new Option<int>("--batch") { Description = "Sequences per step", DefaultValueFactory = _ => d.BatchSize };
        var block = new Option<int>("--block-size") { Description = "Tokens per sequence", DefaultValueFactory = _ => d.BlockSize };
        var vocab = new Option<int>("--vocab") { Description = "Vocabulary of the random tokens (without --data)", DefaultValueFactory = _ => d.VocabSize };
        var data = new Option<string?>("--data") { Description = "A prepared corpus (default: uniformly random tokens)" };
        var seed = new Option<int>("--seed") { Description = "Seed of the models and the data", DefaultValueFactory = _ => d.Seed };
        var device = new Option<string>("--device") { Description = "cpu or cuda[:N]", DefaultValueFactory = _ => "cpu" };
        var outDir = new Option<string?>("--out") { Description = "Folder for coord_check.csv and the plots" };
        var json = new Option<bool>("--json") { Description = "Print one JSON document" };
        var cmd = new Command("mup", "μP coordinate check: per-layer activation and update sizes across widths, SP vs μP")
        {
            widths, baseWidth, layers, heads, steps, lr, batch, block, vocab, data, seed, device, outDir, json,
        };
        CliAction.Set(cmd, pr =>
        {
            var list = pr.GetValue(widths)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(w => int.TryParse(w, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : throw new ArgumentException($"--widths: '{w}' is not a whole number")).ToList();
            if (list.Count == 0) throw new ArgumentException("--widths: give at least two widths, e.g. 64,128,256");
            var dataDir = pr.GetValue(data);
            var o = new CoordinateCheckOptions
            {
                Widths = list, BaseWidth = pr.GetValue(baseWidth) ?? list.Min(), Layers = pr.GetValue(layers), Heads = pr.GetValue(heads),
                Steps = pr.GetValue(steps), LearningRate = pr.GetValue(lr), BatchSize = pr.GetValue(batch), BlockSize = pr.GetValue(block),
                VocabSize = pr.GetValue(vocab), Seed = pr.GetValue(seed), Device = pr.GetValue(device)!, DataDir = dataDir,
            };
            if (dataDir is not null)
            {
                o = o with { VocabSize = CorpusSources.VocabSize(dataDir) };
                CorpusSources.RequireBlocks(dataDir, "train", o.BlockSize, "the check trains on them");
            }
            else if (o.VocabSize is < 2 or > 1 << 20) throw new ArgumentException($"--vocab {o.VocabSize}: must be 2..{1 << 20}");
            o.Validate();
            if (pr.GetValue(outDir) is { } folder) WritableFolder.Require(folder, "--out");
            TorchRuntime.Initialize();
            var asJson = pr.GetValue(json);
            var rows = CoordinateCheck.Run(o, dataDir is null ? CoordinateCheck.RandomTokens(o.VocabSize) : CorpusSources.Open,
                s => Console.Error.WriteLine($"training {s} ({o.Steps} steps)"));
            var growth = (from p in Parametrizations.Names
                          from layer in rows.Select(r => r.Layer).Distinct()
                          select new GrowthJson(p, layer, CoordinateCheck.Growth(rows, p, layer, r => r.Activation),
                              CoordinateCheck.Growth(rows, p, layer, r => r.Update))).ToList();
            IReadOnlyList<string> files = pr.GetValue(outDir) is { } dir
                ? CoordinateCheckPlot.Write([.. rows.Select(r => new CoordinateCheckPlot.Row(r.Parametrization, r.Width, r.Layer, r.Activation, r.Update))], dir)
                    .Select(f => Path.Combine(dir, f)).ToList()
                : [];
            if (asJson)
            {
                JsonOutput.Write(new CheckMupJson(o.Widths, o.BaseWidth, o.Steps, o.LearningRate,
                    [.. rows.Select(r => new CheckRowJson(r.Parametrization, r.Width, r.Layer, r.Activation, r.Update))], growth, files));
                return CliAction.Ok;
            }
            var t = new Table().Title($"mean |x| of each layer's output after {o.Steps} steps, and mean |x_t − x_0|").AddColumn("layer").AddColumn(new TableColumn("width").RightAligned());
            foreach (var p in Parametrizations.Names)
                t.AddColumn(new TableColumn($"{p} |x|").RightAligned()).AddColumn(new TableColumn($"{p} |Δx|").RightAligned());
            foreach (var layer in rows.Select(r => r.Layer).Distinct())
            {
                foreach (var w in o.Widths)
                {
                    var cells = new List<string> { w == o.Widths[0] ? layer : "", $"{w}" };
                    foreach (var p in Parametrizations.Names)
                    {
                        var r = rows.Single(x => x.Parametrization == p && x.Width == w && x.Layer == layer);
                        cells.Add($"{r.Activation:G3}");
                        cells.Add($"{r.Update:G3}");
                    }
                    t.AddRow(cells.Select(Markup.Escape).ToArray());
                }
                var growthCells = new List<string> { "", "growth" };
                foreach (var p in Parametrizations.Names)
                {
                    var g = growth.Single(x => x.Parametrization == p && x.Layer == layer);
                    growthCells.Add($"{g.ActivationGrowth:F2}x");
                    growthCells.Add($"{g.UpdateGrowth:F2}x");
                }
                t.AddRow(growthCells.ToArray());
            }
            AnsiConsole.Write(t);
            Console.WriteLine($"growth is widest / narrowest ({o.Widths[^1]} / {o.Widths[0]}): flat (about 1x) under μP, growing under SP");
            foreach (var f in files) Console.WriteLine($"wrote {f}");
            return CliAction.Ok;
        });
        return cmd;
    }
}
