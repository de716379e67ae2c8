using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Contracts.Experiments;
using Orchestrator.Contracts.Runs;
using Orchestrator.Dashboard.Documents;
using Orchestrator.Experiments.Sweeps;

namespace Orchestrator.Dashboard.Web;

/// <summary>
/// Every route the dashboard answers. The API's documents are the console's `--json` documents (<see cref="ApiQueries"/>,
/// serialized with <see cref="ApiJson.Options"/>):
///   /api/cluster                 orch cluster status --json
///   /api/workers                 orch workers list --json
///   /api/runs, /api/runs/ID      orch run list --json, orch run status ID --json
///   /api/runs/ID/logs            orch run logs ID --json [--tail N] [--rank R] (?tail=N&amp;rank=R)
///   /api/sweeps, /api/sweeps/ID  orch sweep list --json, orch sweep status ID --json
///   /api/sweeps/ID/analysis      orch sweep analysis ID --json [--bootstrap N]
///   /api/sweeps/ID/report.md     the Markdown report of that analysis
/// The UI: / (index.html) and /ui/NAME for the embedded files. Ids are checked against the characters run and sweep
/// ids are made of before any grain is asked, so a crafted id (slashes, dots, encodings) is a 404 that touches nothing.
/// </summary>
public static partial class ApiRoutes
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")]
    private static partial Regex IdPattern();

    public static void Map(WebApplication app)
    {
        app.MapGet("/", () => File("index.html"));
        app.MapGet("/ui/{name}", (string name) => File(name));

        app.MapGet("/api/cluster", (IGrainFactory g) => Json(() => ApiQueries.ClusterAsync(g)));
        app.MapGet("/api/workers", (IGrainFactory g) => Json(() => ApiQueries.WorkersAsync(g)));
        app.MapGet("/api/runs", (IGrainFactory g) => Json(() => ApiQueries.RunsAsync(g)));
        app.MapGet("/api/runs/{id}", (string id, IGrainFactory g) => WithId(id, () => Json(() => ApiQueries.RunAsync(g, id))));
        app.MapGet("/api/runs/{id}/logs", (string id, int? tail, int? rank, IGrainFactory g, CancellationToken ct) =>
            WithId(id, () => Json(() => ApiQueries.RunLogsAsync(g, id, new RunLogQuery { Tail = tail, Rank = rank }, ct))));
        app.MapGet("/api/sweeps", (IGrainFactory g) => Json(() => ApiQueries.SweepsAsync(g)));
        app.MapGet("/api/sweeps/{id}", (string id, IGrainFactory g) => WithId(id, () => Json(() => ApiQueries.SweepAsync(g, id))));
        app.MapGet("/api/sweeps/{id}/analysis", (string id, int? bootstrap, IGrainFactory g, AnalysisCache cache, CancellationToken ct) =>
            WithId(id, () => Json(async () => (await cache.GetAsync(await g.GetSweepStatusAsync(id), bootstrap ?? ApiQueries.DefaultBootstrap, ct)).Json)));
        app.MapGet("/api/sweeps/{id}/report.md", (string id, int? bootstrap, IGrainFactory g, AnalysisCache cache, CancellationToken ct) =>
            WithId(id, () => Guarded(async () =>
            {
                var fit = await cache.GetAsync(await g.GetSweepStatusAsync(id), bootstrap ?? ApiQueries.DefaultBootstrap, ct);
                // Plain text, so a browser shows the Markdown instead of downloading it.
                return Results.Text(ApiQueries.ReportMarkdown(fit), "text/plain; charset=utf-8");
            })));
        // Anything else, including every path that tries to climb out (/ui/../x, /%2e%2e/, //etc/passwd): 404.
        app.MapFallback(() => Results.NotFound(new { error = "no such page" }));
    }

    static IResult File(string name) =>
        UiFiles.TryGet(name, out var bytes, out var type) ? Results.Bytes(bytes, type) : Results.NotFound(new { error = "no such page" });

    static Task<IResult> WithId(string id, Func<Task<IResult>> body) =>
        IdPattern().IsMatch(id) ? body() : Task.FromResult(Results.NotFound(new { error = $"no such id" }));

    static Task<IResult> Json<T>(Func<Task<T>> query) =>
        Guarded(async () => Results.Text(ApiJson.Serialize(await query()), "application/json; charset=utf-8"));

    /// <summary>Unknown ids are 404, bad parameters 400 (the message names them), anything else 500 with its message.</summary>
    static async Task<IResult> Guarded(Func<Task<IResult>> body)
    {
        try { return await body(); }
        catch (Exception e) when (e is UnknownRunException or UnknownSweepException) { return Results.NotFound(new { error = e.Message }); }
        catch (ArgumentException e) { return Results.BadRequest(new { error = e.Message }); }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException)
        {
            return Results.Problem(e.Message, statusCode: StatusCodes.Status500InternalServerError);
        }
    }
}
