using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using k8s;

namespace Orchestrator.Tests.K8s.Support;

/// <summary>
/// A stand-in for a real Kubernetes API server: an HttpListener on 127.0.0.1 that answers the few paths the worker
/// pool uses (the StatefulSet scale subresource, the pod list) from a table the test fills in, and records every
/// request it sees (verb, path, query, content type, body). It speaks the same HTTP a real API server would, so
/// the KubernetesClient code under test is exactly what runs against a cluster; it does not validate, admit or
/// authorise anything itself: the tests script those answers (404, 403 ...).
/// </summary>
sealed class FakeKubernetesApi : IDisposable
{
    public sealed record Request(string Method, string Path, string Query, string? ContentType, string Body, string? Authorization = null);

    public sealed record Response(int Status, string Body);

    readonly HttpListener _listener = new();
    readonly ConcurrentDictionary<string, Func<Request, Response>> _routes = new();
    readonly Task _loop;

    public FakeKubernetesApi()
    {
        // HttpListener cannot bind port 0: borrow a free port from the OS first.
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(Serve);
    }

    public int Port { get; }

    public ConcurrentQueue<Request> Requests { get; } = new();

    /// <summary>Answers <paramref name="method"/> on <paramref name="path"/> (no query string).</summary>
    public void On(string method, string path, Func<Request, Response> answer) => _routes[$"{method} {path}"] = answer;

    public void On(string method, string path, int status, string body) => On(method, path, _ => new Response(status, body));

    /// <summary>A client pointed at this server, as a kubeconfig with server: http://127.0.0.1:PORT would give.</summary>
    public IKubernetes Client() => new k8s.Kubernetes(new KubernetesClientConfiguration { Host = $"http://127.0.0.1:{Port}" });

    async Task Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            string body;
            using (var reader = new StreamReader(ctx.Request.InputStream, Encoding.UTF8)) body = await reader.ReadToEndAsync();
            var request = new Request(ctx.Request.HttpMethod, ctx.Request.Url!.AbsolutePath, ctx.Request.Url.Query, ctx.Request.ContentType, body,
                ctx.Request.Headers["Authorization"]);
            Requests.Enqueue(request);
            var response = _routes.TryGetValue($"{request.Method} {request.Path}", out var answer)
                ? answer(request)
                : new Response(404, Status(404, "NotFound", $"the fake API server has no route for {request.Method} {request.Path}"));
            var bytes = Encoding.UTF8.GetBytes(response.Body);
            ctx.Response.StatusCode = response.Status;
            ctx.Response.ContentType = "application/json";
            ctx.Response.ContentLength64 = bytes.Length;
            await ctx.Response.OutputStream.WriteAsync(bytes);
            ctx.Response.Close();
        }
    }

    /// <summary>A v1 Status body as the API server sends with every error.</summary>
    public static string Status(int code, string reason, string message) =>
        $$"""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"{{message}}","reason":"{{reason}}","code":{{code}}}""";

    public static string Scale(string ns, string name, int spec, int status) =>
        $$$"""{"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"{{{name}}}","namespace":"{{{ns}}}"},"spec":{"replicas":{{{spec}}}},"status":{"replicas":{{{status}}},"selector":"app.kubernetes.io/component=worker,app.kubernetes.io/name=orchestrator"}}""";

    /// <summary>The query string as decoded name/value pairs.</summary>
    public static IReadOnlyDictionary<string, string> QueryOf(Request r) =>
        r.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(kv => kv.Split('=', 2))
            .ToDictionary(kv => Uri.UnescapeDataString(kv[0]), kv => kv.Length > 1 ? Uri.UnescapeDataString(kv[1].Replace('+', ' ')) : "");

    public void Dispose()
    {
        if (!_listener.IsListening) return;
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
