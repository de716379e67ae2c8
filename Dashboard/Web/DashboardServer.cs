using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Orchestrator.Dashboard.Web;

/// <summary>
/// The coordinator's web dashboard: Kestrel in the coordinator process, reading the grains through the silo's own
/// grain factory. Read-only by construction: only GET routes exist, and every route is listed in
/// <see cref="ApiRoutes"/>; anything else is 404 (405 for other methods). The token check, when configured, runs
/// before routing.
/// </summary>
public sealed class DashboardServer : IAsyncDisposable
{
    readonly WebApplication app;

    DashboardServer(WebApplication app, DashboardOptions options) => (this.app, Options) = (app, options);

    /// <summary>Where it really listens (the port may be a free one: see <paramref name="anyPortIfTaken"/>).</summary>
    public DashboardOptions Options { get; }

    /// <param name="anyPortIfTaken">The port was not asked for (the default): if another process holds it, listen on
    /// a free one instead of failing the coordinator (several local clusters, or tests, on one machine).</param>
    public static async Task<DashboardServer> StartAsync(DashboardOptions options, IGrainFactory grains, bool anyPortIfTaken, CancellationToken ct)
    {
        try { return await StartOnAsync(options, grains, ct); }
        catch (IOException) when (anyPortIfTaken)
        {
            return await StartOnAsync(options with { Port = 0 }, grains, ct);
        }
    }

    static async Task<DashboardServer> StartOnAsync(DashboardOptions options, IGrainFactory grains, CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(options.Bind, options.Port);
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = 0; // nothing is ever uploaded
            k.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            k.Limits.MaxConcurrentConnections = 256;
        });
        builder.Services.AddSingleton(grains);
        builder.Services.AddSingleton<AnalysisCache>();
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            var h = context.Response.Headers;
            h.XContentTypeOptions = "nosniff";
            h.XFrameOptions = "DENY";
            h.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";
            h["Referrer-Policy"] = "no-referrer";
            h.CacheControl = "no-store";
            if (!HttpMethods.IsGet(context.Request.Method))
            {
                context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                h.Allow = "GET";
                return;
            }
            await next(context);
        });
        if (options.Token is { } token)
        {
            var check = new TokenCheck(token);
            app.Use((context, next) => check.InvokeAsync(context, ctx => next()));
        }
        ApiRoutes.Map(app);
        await app.StartAsync(ct);
        var bound = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();
        return new DashboardServer(app, options with { Port = new Uri(bound).Port });
    }

    public async ValueTask DisposeAsync()
    {
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await app.StopAsync(grace.Token);
        await app.DisposeAsync();
    }
}
