using Orchestrator.Sharding.Launch;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Orchestrator.Tests.Dashboard;

/// <summary>
/// One `orch local --workers 3` (real processes) with its dashboard on a free port, shared by the tests of a class,
/// and a light-trainer sweep launched at the start (6 runs: 3 sizes x 2 token budgets).
/// </summary>
public sealed class LocalDashboard : IAsyncLifetime
{
    public OrchProcess Local { get; private set; } = null!;
    public string Gateway { get; private set; } = "";
    /// <summary>The dashboard's base URL as the coordinator printed it (http://127.0.0.1:PORT/).</summary>
    public string Url { get; private set; } = "";
    public int WebPort { get; private set; }
    public string Dir { get; } = Directory.CreateTempSubdirectory("orch-dashboard-").FullName;
    public string SweepId { get; private set; } = "";
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public async Task InitializeAsync()
    {
        int silo = LocalPorts.FreePort(), gateway = LocalPorts.FreePort();
        WebPort = LocalPorts.FreePort();
        Gateway = $"127.0.0.1:{gateway}";
        Local = OrchProcess.Start(["local", "--workers", "3", "--port", $"{silo}", "--gateway-port", $"{gateway}", "--metrics-port", "0", "--web-port", $"{WebPort}"]);
        Url = (await Local.WaitForLineAsync(@"\[coordinator\] coordinator up: .*dashboard (http://\S+/)")).Groups[1].Value;
        for (int i = 1; i <= 3; i++) await Local.WaitForLineAsync($@"\[worker-{i}\] worker worker-{i} up");

        string spec = Path.Combine(Dir, "sweep.yaml");
        File.WriteAllText(spec, $$"""
            name: web
            data: {{Dir}}
            storage: {{Path.Combine(Dir, "sweeps")}}
            models:
              - { n_layer: 1, n_head: 1, n_embd: 32 }
              - { n_layer: 2, n_head: 2, n_embd: 64 }
              - { n_layer: 2, n_head: 2, n_embd: 96 }
            tokens: [8192, 16384]
            batch: 16
            block_size: 32
            concurrency: 1
            trainer: light
            checkpoint:
              every: 8
            """);
        var launched = await Orch("sweep", "launch", spec, "--json");
        Assert.True(launched.Exit == 0, launched.Stderr);
        SweepId = JsonNode.Parse(launched.Stdout)!["id"]!.GetValue<string>();
    }

    /// <summary>A console command against this cluster: exit code, stdout, stderr.</summary>
    public Task<(int Exit, string Stdout, string Stderr)> Orch(params string[] args) => OrchProcess.RunAsync([.. args, "--coordinator", Gateway]);

    public async Task<JsonNode> ApiAsync(string path)
    {
        using var r = await Http.GetAsync(Url + path.TrimStart('/'));
        string body = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, $"GET {path}: {(int)r.StatusCode} {body}");
        Assert.Equal("application/json", r.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(body)!;
    }

    /// <summary>Submits a light run (RunSpec YAML body without name/trainer/checkpoint) and returns its id.</summary>
    public async Task<string> SubmitAsync(string name, string body)
    {
        string spec = Path.Combine(Dir, name + ".yaml");
        File.WriteAllText(spec, $"name: {name}\ntrainer: light\n{body}\ncheckpoint: {{ every: 25, keep: 3, path: {Path.Combine(Dir, "ckpt")} }}\n");
        var submitted = await Orch("run", "submit", spec, "--json");
        Assert.True(submitted.Exit == 0, submitted.Stderr);
        return JsonNode.Parse(submitted.Stdout)!["id"]!.GetValue<string>();
    }

    /// <summary>Polls the API (the coordinator's own view) until the condition holds; fails with the last document.</summary>
    public async Task<JsonNode> UntilAsync(string path, Func<JsonNode, bool> done, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromMinutes(3));
        JsonNode last;
        while (!done(last = await ApiAsync(path)))
        {
            if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException($"{path} never got there; last:\n{last}\nlocal:\n{Local.Output[^Math.Min(4000, Local.Output.Length)..]}");
            await Task.Delay(300);
        }
        return last;
    }

    /// <summary>Every run and the sweep final: the documents stop changing.</summary>
    public async Task SettleAsync()
    {
        await UntilAsync($"api/sweeps/{SweepId}", s => s["state"]!.GetValue<string>() != "Running");
        await UntilAsync("api/runs", runs => runs.AsArray().All(r => r!["state"]!.GetValue<string>() is "Completed" or "Failed" or "Cancelled"));
    }

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Orchestrator.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("no Orchestrator.sln above the test binaries");
    }

    public async Task DisposeAsync()
    {
        await Local.DisposeAsync();
        Http.Dispose();
        Directory.Delete(Dir, recursive: true);
    }
}
