using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Orchestrator.Tests.Dashboard;

/// <summary>
/// The web API against the console on one real local cluster: every endpoint returns the document the matching
/// `orch ... --json` prints (same fields, same values), and no path, however encoded, reads anything but the UI's own files.
/// </summary>
public sealed class ApiTests(LocalDashboard cluster) : IClassFixture<LocalDashboard>
{
    [Fact]
    public async Task Every_endpoint_returns_what_the_cli_prints_with_json()
    {
        string run = await cluster.SubmitAsync("api", "steps: 60\nstep_ms: 20\nworkers: { min: 1, max: 1 }");
        await cluster.SettleAsync();

        (string[] Cli, string Api, string[] Ignore)[] pairs =
        [
            (["workers", "list"], "api/workers", []),
            (["run", "list"], "api/runs", []),
            (["run", "status", run], $"api/runs/{run}", []),
            (["run", "logs", run], $"api/runs/{run}/logs", []),
            (["run", "logs", run, "--tail", "1", "--rank", "0"], $"api/runs/{run}/logs?tail=1&rank=0", []),
            (["sweep", "list"], "api/sweeps", []),
            (["sweep", "status", cluster.SweepId], $"api/sweeps/{cluster.SweepId}", []),
            (["sweep", "analysis", cluster.SweepId], $"api/sweeps/{cluster.SweepId}/analysis", []),
            (["sweep", "analysis", cluster.SweepId, "--bootstrap", "0"], $"api/sweeps/{cluster.SweepId}/analysis?bootstrap=0", []),
            // Heartbeats move while the two requests are made; everything else must agree.
            (["cluster", "status"], "api/cluster", ["last_heartbeat", "uptime_seconds"]),
        ];
        foreach (var (cli, api, ignore) in pairs)
        {
            var printed = await cluster.Orch([.. cli, "--json"]);
            Assert.True(printed.Exit == 0, $"orch {string.Join(' ', cli)}: {printed.Stderr}");
            JsonSame.Assert(JsonNode.Parse(printed.Stdout), await cluster.ApiAsync(api), ignore);
        }

        // Spot checks that the documents say what they should.
        var status = await cluster.ApiAsync($"api/runs/{run}");
        Assert.Equal(("Completed", 60, 60), (status["state"]!.GetValue<string>(), status["step"]!.GetValue<int>(), status["history"]!.AsArray().Count));
        Assert.Equal(60 * 16 * 128L, status["history"]!.AsArray()[^1]!["tokens"]!.GetValue<long>());
        var logs = await cluster.ApiAsync($"api/runs/{run}/logs");
        Assert.Equal((run, "Completed"), (logs["run_id"]!.GetValue<string>(), logs["state"]!.GetValue<string>()));
        Assert.Contains(logs["lines"]!.AsArray(), l => l!["message"]!.GetValue<string>() == "started at step 1 of 60 with 1 ranks" && l["rank"]!.GetValue<int>() == 0);
        var sweep = await cluster.ApiAsync($"api/sweeps/{cluster.SweepId}");
        Assert.Equal(6, sweep["done"]!.GetValue<int>());
        var analysis = await cluster.ApiAsync($"api/sweeps/{cluster.SweepId}/analysis");
        Assert.Equal(6, analysis["points"]!.AsArray().Count);
        using var report = await cluster.Http.GetAsync(cluster.Url + $"api/sweeps/{cluster.SweepId}/report.md");
        Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        Assert.StartsWith($"# Sweep web ({cluster.SweepId})", await report.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Unknown_ids_are_404_and_bad_parameters_400()
    {
        using var run = await cluster.Http.GetAsync(cluster.Url + "api/runs/no-such-run");
        Assert.Equal(HttpStatusCode.NotFound, run.StatusCode);
        Assert.Contains("no run 'no-such-run'", await run.Content.ReadAsStringAsync());
        using var sweep = await cluster.Http.GetAsync(cluster.Url + "api/sweeps/no-such-sweep/analysis");
        Assert.Equal(HttpStatusCode.NotFound, sweep.StatusCode);
        using var bad = await cluster.Http.GetAsync(cluster.Url + $"api/sweeps/{cluster.SweepId}/analysis?bootstrap=100000");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using var noLogs = await cluster.Http.GetAsync(cluster.Url + "api/runs/no-such-run/logs");
        Assert.Equal(HttpStatusCode.NotFound, noLogs.StatusCode);
        using var badTail = await cluster.Http.GetAsync(cluster.Url + "api/runs/no-such-run/logs?tail=0");
        Assert.Equal(HttpStatusCode.BadRequest, badTail.StatusCode);
        using var post = await cluster.Http.PostAsync(cluster.Url + "api/runs", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
    }

    [Theory]
    [InlineData("/ui/../../../../../../etc/passwd")]
    [InlineData("/ui/..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd")]
    [InlineData("/ui/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd")]
    [InlineData("/ui/..%5C..%5C..%5C..%5Cetc%5Cpasswd")]
    [InlineData("/..%2F..%2F..%2F..%2Fetc%2Fpasswd")]
    [InlineData("//etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("/ui/%2Fetc%2Fpasswd")]
    [InlineData("/ui/Dashboard.csproj")]
    [InlineData("/ui/package.json")]
    [InlineData("/ui/node_modules/uplot/package.json")]
    [InlineData("/ui/.%2Fapp.js")]
    [InlineData("/api/runs/..%2F..%2F..%2Fetc%2Fpasswd")]
    [InlineData("/api/runs/../../../etc/passwd")]
    [InlineData("/api/sweeps/..%2F..%2Fetc/report.md")]
    [InlineData("/api/sweeps/%2Fetc%2Fpasswd/analysis")]
    [InlineData("/api/../../etc/passwd")]
    public async Task Path_traversal_gets_404_and_reads_nothing(string path)
    {
        var (status, body) = await RawGetAsync(path);
        Assert.Equal(404, status);
        Assert.DoesNotContain("root:", body);
        Assert.DoesNotContain("Microsoft.NET.Sdk", body);
        Assert.DoesNotContain("\"uplot\"", body);
        // The same server does serve its own files.
        Assert.Equal(200, (await RawGetAsync("/ui/app.js")).Status);
    }

    /// <summary>A GET with the path sent exactly as given (HttpClient would normalise dot segments away).</summary>
    async Task<(int Status, string Body)> RawGetAsync(string path)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, cluster.WebPort);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string response = await reader.ReadToEndAsync();
        int status = int.Parse(response.Split(' ', 3)[1]);
        return (status, response);
    }
}
