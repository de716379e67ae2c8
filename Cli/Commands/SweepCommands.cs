using System.CommandLine;
using Orchestrator.Cli.Hosting;
using Orchestrator.Contracts.Limits;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Coordinator.Hosting;
using Orchestrator.Dashboard.Documents;
using Orchestrator.Experiments.Fitting;
using Orchestrator.Experiments.Planning;
using Orchestrator.Experiments.Specs;
using Orchestrator.Experiments.Sweeps;
using Spectre.Console;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// `orch sweep launch SWEEP.yaml [--watch]`, `orch sweep status ID [--watch]`, `orch sweep report ID --out DIR`:
/// scaling-law sweeps run by the coordinator's experiment grain, watched from the console, reported as Markdown,
/// JSON and PNG/SVG plots.
/// </summary>
public static class SweepCommands
{
    public static Command Create()
    {
        var sweep = new Command("sweep", "Launch, watch and report scaling-law sweeps");
        sweep.Subcommands.Add(Launch());
        sweep.Subcommands.Add(Status());
        sweep.Subcommands.Add(Cancel());
        sweep.Subcommands.Add(Report());
        sweep.Subcommands.Add(List());
        sweep.Subcommands.Add(Analysis());
        return sweep;
    }

    static Command List()
    {
        var cmd = new Command("list", "Every sweep launched on this cluster, with its progress") { ConsoleOptions.Json, ConsoleOptions.Coordinator, ConsoleOptions.Cluster, ConsoleOptions.Redis };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            using var host = await ConsoleOptions.ConnectAsync(pr, ct);
            var all = await ApiQueries.SweepsAsync(host.Client());
            if (pr.GetValue(ConsoleOptions.Json)) { JsonOutput.Write(all); return CliAction.Ok; }
            var t = new TableOutput("id", "state", "done", "failed", "runs", "created");
            foreach (var s in all)
                t.Add(Markup.Escape(s.Id), Markup.Escape(s.State), $"{s.Done}", $"{s.Failed}", $"{s.Total}", $"{s.CreatedAt:yyyy-MM-dd HH:mm}");
            t.Write();
            return CliAction.Ok;
        });
        return cmd;
    }

    static Command Analysis()
    {
        var id = new Argument<string>("ID") { Description = "Sweep id" };
        var bootstrap = new Option<int>("--bootstrap") { Description = $"Bootstrap resamples for the intervals and bands (0..{ApiQueries.MaxBootstrap})", DefaultValueFactory = _ => ApiQueries.DefaultBootstrap };
        var cmd = new Command("analysis", "Fit the sweep's completed runs so far (the dashboard's sweep page): law, bands, IsoFLOP minima, residuals; writes nothing")
            { id, bootstrap, ConsoleOptions.Json, ConsoleOptions.Coordinator, ConsoleOptions.Cluster, ConsoleOptions.Redis };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            int n = pr.GetValue(bootstrap);
            if (n is < 0 or > ApiQueries.MaxBootstrap) throw new BadInputException($"--bootstrap {n}: give 0..{ApiQueries.MaxBootstrap}");
            using var host = await ConsoleOptions.ConnectAsync(pr, ct);
            var fit = ApiQueries.Analyze(await host.Client().GetSweepStatusAsync(await SweepIdAsync(host.Client(), pr.GetValue(id)!)), n, ct);
            if (pr.GetValue(ConsoleOptions.Json)) JsonOutput.Write(fit.Json);
            else Console.Out.Write(ApiQueries.ReportMarkdown(fit));
            return CliAction.Ok;
        });
        return cmd;
    }

    static Command Launch()
    {
        var file = new Argument<string>("SWEEP") { Description = "Sweep YAML: name, data, storage, models/params, tokens and/or flop_budgets, batch, block_size, lr (or auto), lr_rule, seeds, workers, concurrency, retries, device, trainer, search" };
        var watch = new Option<bool>("--watch") { Description = "Then watch it until it ends" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Validate and print the plan; launch nothing" };
        var resume = new Option<bool>("--resume") { Description = "This spec's sweep was cancelled or failed: continue it (completed runs are kept, the others queued again)" };
        var cmd = new Command("launch", "Plan and launch a sweep; prints its id (a spec already launched finds its sweep: nothing trains twice)")
        { file, watch, dryRun, resume, ConsoleOptions.Json, ConsoleOptions.Coordinator, ConsoleOptions.Cluster, ConsoleOptions.Redis };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            bool json = pr.GetValue(ConsoleOptions.Json);
            var spec = SweepSpecYaml.Load(pr.GetValue(file)!); // bad specs fail here, before any connection
            var plan = Orchestrator.Experiments.Search.SearchProgress.Plan(spec);
            foreach (var w in SweepPlanner.EpochWarnings(spec, plan)) Console.Error.WriteLine($"warning: {w}");
            if (pr.GetValue(dryRun))
            {
                if (json) JsonOutput.Write(plan);
                else SweepView.PrintPlan(spec, plan);
                return CliAction.Ok;
            }
            using var host = await ConsoleOptions.ConnectAsync(pr, ct);
            var client = host.Client();
            var id = SweepClient.IdOf(spec);
            SweepStatus? existing = null;
            try { existing = await client.GetSweepStatusAsync(id); }
            catch (UnknownSweepException) { }
            var status = existing is null ? await client.LaunchSweepAsync(spec, id)
                : pr.GetValue(resume) ? await client.ResumeSweepAsync(id) : existing;
            if (existing is not null && !json)
                Console.Out.WriteLine(SweepView.Again(existing, status, pr.GetValue(file)!));
            if (pr.GetValue(watch)) return await SweepView.WatchAsync(client, status.Id, json, ct);
            if (json) JsonOutput.Write(SweepView.Json(status));
            else if (existing is null)
            {
                SweepView.PrintPlan(spec, plan);
                AnsiConsole.MarkupLineInterpolated($"launched sweep [bold]{status.Id}[/]: {plan.Count} runs, {spec.Concurrency} at a time, folder {status.Folder}");
                AnsiConsole.MarkupLineInterpolated($"watch it: orch sweep status {status.Id} --watch");
            }
            return CliAction.Ok;
        });
        return cmd;
    }

    /// <summary>The sweep meant by an id, a unique id prefix or a name (<see cref="IdResolver"/>).</summary>
    static async Task<string> SweepIdAsync(IGrainFactory client, string given) =>
        IdResolver.Resolve(given, [.. (await ApiQueries.SweepsAsync(client)).Select(s => (s.Id, s.Name))], "sweep");

    static Command Cancel()
    {
        var id = new Argument<string>("ID") { Description = "Sweep id (printed by launch; `orch sweep list`), a unique prefix of one, or a sweep's name" };
        var cmd = new Command("cancel", "Cancel a sweep: its runs in flight are cancelled, none is started; `sweep launch SPEC --resume` continues it")
        { id, ConsoleOptions.Json, ConsoleOptions.Coordinator, ConsoleOptions.Cluster, ConsoleOptions.Redis };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            using var host = await ConsoleOptions.ConnectAsync(pr, ct);
            var status = await host.Client().CancelSweepAsync(await SweepIdAsync(host.Client(), pr.GetValue(id)!), "cancelled with `orch sweep cancel`");
            if (pr.GetValue(ConsoleOptions.Json)) JsonOutput.Write(SweepView.Json(status));
            else Console.Out.WriteLine($"sweep {status.Id}: {status.State}, {status.Done}/{status.Runs.Length} runs done");
            return CliAction.Ok;
        });
        return cmd;
    }

    static Command Status()
    {
        var id = new Argument<string>("ID") { Description = "Sweep id (printed by launch), a unique prefix of one, or a sweep's name" };
        var watch = new Option<bool>("--watch") { Description = "Live progress until the sweep ends" };
        var cmd = new Command("status", "Progress of every run of a sweep") { id, watch, ConsoleOptions.Json, ConsoleOptions.Coordinator, ConsoleOptions.Cluster, ConsoleOptions.Redis };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            using var host = await ConsoleOptions.ConnectAsync(pr, ct);
            var client = host.Client();
            bool json = pr.GetValue(ConsoleOptions.Json);
            var sweepId = await SweepIdAsync(client, pr.GetValue(id)!);
            if (pr.GetValue(watch)) return await SweepView.WatchAsync(client, sweepId, json, ct);
            var status = await client.GetSweepStatusAsync(sweepId);
            if (json) JsonOutput.Write(SweepView.Json(status));
            else AnsiConsole.Write(SweepView.Table(status));
            return CliAction.Ok;
        });
        return cmd;
    }

    static Command Report()
    {
        var id = new Argument<string?>("ID") { Description = "Sweep id (or give --folder)", Arity = ArgumentArity.ZeroOrOne };
        var output = new Option<string>("--out", "-o") { Description = "New folder for report.md, report.json and the plots", Required = true };
        var folder = new Option<string?>("--folder") { Description = "Report from a sweep folder on disk, without a cluster" };
        var bootstrap = new Option<int>("--bootstrap") { Description = "Bootstrap resamples for the intervals", DefaultValueFactory = _ => 1000 };
        var cmd = new Command("report", "Fit the sweep's results and write Markdown, JSON and PNG/SVG plots") { id, output, folder, bootstrap, ConsoleOptions.Json, ConsoleOptions.Coordinator, ConsoleOptions.Cluster, ConsoleOptions.Redis };
        CliAction.Set(cmd, async (pr, ct) =>
        {
            if (pr.GetValue(bootstrap) < 0) throw new BadInputException($"--bootstrap {pr.GetValue(bootstrap)}: give resamples >= 0");
            string outDir = Path.GetFullPath(pr.GetValue(output)!);
            if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
                throw new BadInputException($"--out '{outDir}' is not empty: give a new folder (reports are never overwritten)");
            WritableFolder.Require(outDir, "--out", keepCreated: false); // before the fit, not after it; made when written
            SweepStatus status;
            if (pr.GetValue(folder) is { } dir)
            {
                if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"--folder '{dir}' does not exist");
                status = SweepFolder.ReadStatus(dir) with { Folder = Path.GetFullPath(dir) };
            }
            else
            {
                var sweepId = pr.GetValue(id) ?? throw new BadInputException("give a sweep ID or --folder DIR");
                using var host = await ConsoleOptions.ConnectAsync(pr, ct);
                status = await host.Client().GetSweepStatusAsync(await SweepIdAsync(host.Client(), sweepId));
            }
            var (written, analysis) = SweepView.WriteReport(status, outDir, pr.GetValue(bootstrap), ct);
            if (pr.GetValue(ConsoleOptions.Json))
                JsonOutput.Write(new { report = written, fit = analysis.Chinchilla is { } f ? FitDocument.Build(f, analysis.Budgets, analysis.Verdict, analysis.Holdout, analysis.LeaveOneOut) : null, notes = analysis.Notes });
            else SweepView.PrintSummary(analysis, written);
            return CliAction.Ok;
        });
        return cmd;
    }
}
