using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using PuppeteerSharp;
using Xunit.Abstractions;

namespace Orchestrator.Tests.Dashboard;

/// <summary>
/// The dashboard in a real headless Chromium (the system's; nothing downloads a browser) against `orch local`:
/// every page shows the API's numbers, the run page's step counter moves without a reload, a SIGKILLed worker appears
/// as a marker on the world-size chart, and the console stays free of errors. Screenshots of each page land in
/// .build/test-results/screenshots/ (docs/images/ keeps copies for the README).
/// </summary>
public sealed class BrowserTests(LocalDashboard cluster, ITestOutputHelper output) : IClassFixture<LocalDashboard>, IAsyncLifetime
{
    public const string Chromium = "/usr/bin/chromium";
    IBrowser browser = null!;
    IPage page = null!;
    readonly List<string> consoleErrors = [];
    readonly string shots = Path.Combine(LocalDashboard.RepoRoot(), ".build", "test-results", "screenshots");

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: scripts/setup.sh installs Debian's chromium package");
        browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = Chromium, Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions"],
        });
        page = await browser.NewPageAsync();
        await page.SetViewportAsync(new ViewPortOptions { Width = 1400, Height = 1000 });
        page.Console += (_, e) => { if (e.Message.Type == ConsoleType.Error) lock (consoleErrors) consoleErrors.Add(e.Message.Text); };
        page.PageError += (_, e) => { lock (consoleErrors) consoleErrors.Add("page error: " + e.Message); };
        page.RequestFailed += (_, e) => { lock (consoleErrors) consoleErrors.Add($"request failed: {e.Request.Url}"); };
        Directory.CreateDirectory(shots);
    }

    public async Task DisposeAsync()
    {
        await browser.CloseAsync();
        await browser.DisposeAsync();
    }

    [Fact]
    public async Task Pages_show_the_api_numbers_update_live_and_mark_a_killed_worker()
    {
        // A run long enough to watch: 2 ranks (one will be killed), checkpoints every 25 steps.
        string run = await cluster.SubmitAsync("live", "steps: 500\nstep_ms: 60\nseed: 3\nworkers: { min: 1, max: 2 }");
        await cluster.UntilAsync($"api/runs/{run}", r => r["state"]!.GetValue<string>() == "Running" && r["world_size"]!.GetValue<int>() == 2);

        await page.GoToAsync($"{cluster.Url}#/runs/{run}");
        await page.EvaluateExpressionAsync("window.__sameDocument = true");
        await page.WaitForFunctionAsync("() => Number(document.querySelector('#run-step')?.textContent) > 0", Wait(30));
        int seen = int.Parse(await Text("#run-step"));
        // Live: the counter moves on its own, in the same document (no reload).
        await page.WaitForFunctionAsync($"() => Number(document.querySelector('#run-step').textContent) > {seen}", Wait(30));
        Assert.True(await page.EvaluateExpressionAsync<bool>("window.__sameDocument === true"));

        // SIGKILL the rank-1 worker: the run page marks the loss on the world-size chart without a reload.
        var status = await cluster.ApiAsync($"api/runs/{run}");
        string victim = status["workers"]!.AsArray()[1]!.GetValue<string>();
        var workers = await cluster.ApiAsync("api/workers");
        int pid = workers.AsArray().Single(w => w!["id"]!.GetValue<string>() == victim)!["process_id"]!.GetValue<int>();
        Process.GetProcessById(pid).Kill();
        await page.WaitForSelectorAsync(".chart[data-chart='world size'] .marker.WorkerLost", new WaitForSelectorOptions { Timeout = 60_000 });
        await page.WaitForSelectorAsync("tr[data-kind='WorkerLost']", new WaitForSelectorOptions { Timeout = 10_000 });
        Assert.True(await page.EvaluateExpressionAsync<bool>("window.__sameDocument === true"));
        Assert.True(await page.EvaluateExpressionAsync<int>("document.querySelectorAll(\".chart[data-chart='world size'] .marker.Checkpoint\").length") > 0);
        Assert.Contains($"worker {victim} lost", await Text("tr[data-kind='WorkerLost']"));

        // Once everything has finished, each page must show exactly the API's figures.
        await page.WaitForSelectorAsync("h1 .state[data-state='Completed']", new WaitForSelectorOptions { Timeout = 180_000 });
        await cluster.SettleAsync();
        await RunPageMatchesAsync(run);
        await Shot("run");

        await RunsPageMatchesAsync();
        await Shot("runs");
        await ClusterPageMatchesAsync(victim);
        await Shot("cluster");
        await SweepPagesMatchAsync();
        await Shot("sweep");

        lock (consoleErrors) Assert.True(consoleErrors.Count == 0, "console errors:\n" + string.Join("\n", consoleErrors));
    }

    async Task RunPageMatchesAsync(string run)
    {
        await page.GoToAsync($"{cluster.Url}#/runs/{run}");
        var r = await cluster.ApiAsync($"api/runs/{run}");
        await page.WaitForFunctionAsync($"() => document.querySelector('#run-step')?.textContent === '{r["step"]}'", Wait(20));
        Assert.Equal($"{r["total_steps"]}", await Text("#run-total"));
        Assert.Equal(Loss(r["loss"]), await Text(".card [data-field='loss']"));
        Assert.Equal(Loss(r["val_loss"]), await Text(".card [data-field='val_loss']"));
        Assert.Equal($"{r["world_size"]}", await Text(".card [data-field='world_size']"));
        Assert.Equal($"{r["generation"]}", await Text(".card [data-field='generation']"));
        Assert.Equal(r["checkpoints"]!.AsArray().Count, await Count("tr[data-checkpoint]"));
        Assert.Equal(Math.Min(30, r["events"]!.AsArray().Count), await Count("tr[data-kind]"));
        Assert.Equal(r["events"]!.AsArray().Count(e => e!["kind"]!.GetValue<string>() == "WorkerLost"),
            await Count(".chart[data-chart='world size'] .marker.WorkerLost"));
        Assert.Equal(1, await Count(".chart[data-chart='loss'] canvas"));
        // The log: the API's last lines, one a line, each rank's start among them.
        var log = (await cluster.ApiAsync($"api/runs/{run}/logs?tail=200"))["lines"]!.AsArray()
            .Select(l => $"{l!["at"]!.GetValue<string>()} rank {l["rank"]} {l["worker_id"]!.GetValue<string>()} {l["level"]!.GetValue<string>().ToUpperInvariant()} {l["message"]!.GetValue<string>()}").ToList();
        await page.WaitForFunctionAsync($"() => document.querySelector('#run-log')?.textContent.split('\\n').length === {log.Count}", Wait(20));
        Assert.Equal(log, (await Text("#run-log")).Split('\n'));
        Assert.Contains(log, l => l.Contains(" rank 0 ") && l.Contains(" INFO started at step "));
    }

    async Task RunsPageMatchesAsync()
    {
        await page.GoToAsync($"{cluster.Url}#/runs");
        var runs = (await cluster.ApiAsync("api/runs")).AsArray();
        await page.WaitForFunctionAsync($"() => document.querySelectorAll('tr[data-run]').length === {runs.Count}", Wait(20));
        foreach (var r in runs)
        {
            string row = $"tr[data-run='{r!["id"]}']";
            Assert.Equal(r["state"]!.GetValue<string>(), await Text($"{row} [data-field='state']"));
            Assert.Equal($"{r["step"]}/{r["total_steps"]}", await Text($"{row} [data-field='step']"));
            Assert.Equal(Loss(r["loss"]), await Text($"{row} [data-field='loss']"));
            Assert.Equal(Loss(r["val_loss"]), await Text($"{row} [data-field='val_loss']"));
            Assert.Equal(r["tokens_per_second"]!.GetValue<double>().ToString("N0", CultureInfo.InvariantCulture), await Text($"{row} [data-field='tokens_per_second']"));
            Assert.Equal($"{r["world_size"]}", await Text($"{row} [data-field='world_size']"));
            Assert.Equal($"{r["generation"]}", await Text($"{row} [data-field='generation']"));
            Assert.Equal(r["sweep"]?.GetValue<string>() ?? "-", await Text($"{row} [data-field='sweep']"));
        }
        // The sweep filter keeps the sweep's runs only.
        await page.SelectAsync("#filter-sweep", cluster.SweepId);
        await page.WaitForFunctionAsync("() => document.querySelectorAll('tr[data-run]').length === 6", Wait(10));
        await page.SelectAsync("#filter-sweep", "");
    }

    async Task ClusterPageMatchesAsync(string killed)
    {
        await page.GoToAsync($"{cluster.Url}#/cluster");
        var c = await cluster.ApiAsync("api/cluster");
        var workers = c["workers"]!.AsArray();
        await page.WaitForFunctionAsync($"() => document.querySelectorAll('tr[data-worker]').length === {workers.Count}", Wait(20));
        foreach (var w in workers)
        {
            string row = $"tr[data-worker='{w!["id"]}']";
            Assert.StartsWith(w["state"]!.GetValue<string>(), await Text($"{row} [data-field='state']"));
            Assert.Equal($"{w["process_id"]}", await Text($"{row} [data-field='pid']"));
        }
        Assert.StartsWith("Lost", await Text($"tr[data-worker='{killed}'] [data-field='state']"));
        Assert.Equal("Active", await Text("[data-field='coordinator-status']"));
        Assert.Equal($"{workers.Count}", await Text("[data-field='worker-count']"));
    }

    async Task SweepPagesMatchAsync()
    {
        var s = await cluster.ApiAsync($"api/sweeps/{cluster.SweepId}");
        var a = await cluster.ApiAsync($"api/sweeps/{cluster.SweepId}/analysis");
        await page.GoToAsync($"{cluster.Url}#/sweeps");
        await page.WaitForSelectorAsync($"tr[data-sweep='{cluster.SweepId}']", new WaitForSelectorOptions { Timeout = 20_000 });
        Assert.Equal($"{s["done"]}", await Text($"tr[data-sweep='{cluster.SweepId}'] [data-field='done']"));
        await Shot("sweeps");

        await page.GoToAsync($"{cluster.Url}#/sweeps/{cluster.SweepId}");
        await page.WaitForSelectorAsync("#law-text", new WaitForSelectorOptions { Timeout = 60_000 });
        foreach (var r in s["runs"]!.AsArray())
            Assert.Equal(Loss(r!["val_loss"]), await Text($"#grid [data-key='{r["key"]}'] [data-field='loss']"));
        var fit = a["fit"]!;
        Assert.StartsWith(Num(fit["alpha"]).ToString("F3", CultureInfo.InvariantCulture), await Text(".card [data-field='alpha']"));
        Assert.StartsWith(Num(fit["beta"]).ToString("F3", CultureInfo.InvariantCulture), await Text(".card [data-field='beta']"));
        Assert.Equal($"{fit["points"]}", await Text(".card [data-field='points']"));
        var optimal = fit["compute_optimal"]!.AsArray();
        Assert.Equal(optimal.Count, await Count("#compute-optimal tr[data-flops]"));
        for (int i = 0; i < optimal.Count; i++)
        {
            // Three significant digits on the page.
            double n = Num(optimal[i]!["n"]), shown = double.Parse(await Text($"#compute-optimal tr[data-flops]:nth-child({i + 1}) [data-field='n']"), CultureInfo.InvariantCulture);
            Assert.True(double.IsNaN(n) ? double.IsNaN(shown) : Math.Abs(shown - n) <= 0.005 * Math.Abs(n), $"N* {n} shown as {shown}");
        }
        Assert.Equal(1, await Count(".chart[data-chart='final loss vs N'] canvas"));
        Assert.Equal(1, await Count(".chart[data-chart='residuals'] canvas"));
        string href = await page.EvaluateExpressionAsync<string>("document.querySelector('#report-link').href");
        Assert.StartsWith("# Sweep web", await cluster.Http.GetStringAsync(href));
    }

    /// <summary>A JSON number, or the named literal ("NaN", "Infinity") a degenerate fit writes as a string.</summary>
    static double Num(JsonNode? v) => v!.GetValueKind() == System.Text.Json.JsonValueKind.String
        ? double.Parse(v.GetValue<string>(), CultureInfo.InvariantCulture) : v.GetValue<double>();

    static string Loss(JsonNode? v) => v is null ? "-" : v.GetValue<double>().ToString("F4", CultureInfo.InvariantCulture);

    Task<string> Text(string selector) =>
        page.EvaluateExpressionAsync<string>($"document.querySelector({System.Text.Json.JsonSerializer.Serialize(selector)}).textContent.trim()");

    Task<int> Count(string selector) =>
        page.EvaluateExpressionAsync<int>($"document.querySelectorAll({System.Text.Json.JsonSerializer.Serialize(selector)}).length");

    static WaitForFunctionOptions Wait(int seconds) => new() { Timeout = seconds * 1000, PollingInterval = 200 };

    async Task Shot(string name)
    {
        await page.WaitForNetworkIdleAsync(new WaitForNetworkIdleOptions { IdleTime = 500, Timeout = 10_000 });
        string path = Path.Combine(shots, $"dashboard-{name}.png");
        await page.ScreenshotAsync(path, new ScreenshotOptions { FullPage = true });
        output.WriteLine($"screenshot: {path}");
    }
}
