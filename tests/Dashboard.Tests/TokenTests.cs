using Orchestrator.Sharding.Launch;
using System.Net;
using System.Net.Http.Headers;

namespace Orchestrator.Tests.Dashboard;

/// <summary>
/// A coordinator whose dashboard listens beyond loopback: every request needs the token (401 without it), and the
/// flags refuse to start such a dashboard without one (exit 2, before anything starts).
/// </summary>
public sealed class TokenTests
{
    [Fact]
    public async Task A_non_loopback_dashboard_answers_401_without_its_token()
    {
        var dir = Directory.CreateTempSubdirectory("orch-web-token-");
        string token = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        string file = Path.Combine(dir.FullName, "token");
        File.WriteAllText(file, token + "\n");
        int web = LocalPorts.FreePort();
        await using var coordinator = OrchProcess.Start(["coordinator", "--port", $"{LocalPorts.FreePort()}", "--gateway-port", $"{LocalPorts.FreePort()}",
            "--metrics-port", "0", "--web-port", $"{web}", "--web-bind", "0.0.0.0", "--web-token-file", file]);
        var up = await coordinator.WaitForLineAsync(@"coordinator up: .*dashboard (http://\S+/) \(token required");
        Assert.DoesNotContain(token, coordinator.Output); // never printed
        string url = up.Groups[1].Value;
        Assert.Equal($"http://127.0.0.1:{web}/", url);

        using var http = new HttpClient(new HttpClientHandler { UseCookies = false });
        foreach (var path in new[] { "", "ui/app.js", "api/runs", "api/cluster", "api/runs/x", "no/such/page" })
        {
            using var bare = await http.GetAsync(url + path);
            Assert.Equal(HttpStatusCode.Unauthorized, bare.StatusCode);
            using var wrong = await Send(http, url + path, bearer: token[..^1] + (token[^1] == '0' ? '1' : '0'));
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }
        using (var ok = await Send(http, url + "api/runs", bearer: token))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal("[]", (await ok.Content.ReadAsStringAsync()).Trim());
        }
        // Opening the link with ?token= once gives the browser an HttpOnly cookie for the page's own requests.
        using var page = await http.GetAsync(url + "?token=" + token);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var cookie = Assert.Single(page.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", cookie.ToLowerInvariant());
        using (var withCookie = await Send(http, url + "api/workers", cookie: cookie.Split(';')[0]))
            Assert.Equal(HttpStatusCode.OK, withCookie.StatusCode);
        // With the token, the 404 and 405 rules still hold.
        using (var missing = await Send(http, url + "ui/..%2F..%2Fetc%2Fpasswd", bearer: token))
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        dir.Delete(recursive: true);
    }

    static Task<HttpResponseMessage> Send(HttpClient http, string url, string? bearer = null, string? cookie = null)
    {
        var req = new HttpRequestMessage(HttpMethod.Get, url);
        if (bearer is not null) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        if (cookie is not null) req.Headers.Add("Cookie", cookie);
        return http.SendAsync(req);
    }

    [Theory]
    [InlineData(new[] { "coordinator", "--web-bind", "0.0.0.0" }, "--web-bind 0.0.0.0 is reachable from other machines: give --web-token or --web-token-file")]
    [InlineData(new[] { "local", "--web-bind", "10.1.2.3", "--workers", "0" }, "--web-bind 10.1.2.3 is reachable from other machines")]
    [InlineData(new[] { "coordinator", "--web-port", "70000" }, "--web-port: 70000 is not 0..65535")]
    [InlineData(new[] { "coordinator", "--web-bind", "localhost:80" }, "--web-bind: 'localhost:80' is not an IP address")]
    [InlineData(new[] { "coordinator", "--web-token", "short" }, "--web-token: a token is 16..4096 characters without spaces")]
    [InlineData(new[] { "coordinator", "--web-token-file", "/nonexistent/token" }, "--web-token-file: '/nonexistent/token' does not exist")]
    public async Task Bad_dashboard_flags_exit_2_before_anything_starts(string[] args, string message)
    {
        var (exit, stdout, stderr) = await OrchProcess.RunAsync(args);
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Contains(message, stderr);
        Assert.Single(stderr.TrimEnd().Split('\n'));
    }
}
