using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Orchestrator.Dashboard.Web;

/// <summary>
/// With a token configured, every request must carry it: `Authorization: Bearer TOKEN`, the `orch_token` cookie, or
/// `?token=TOKEN` (a link that opens the dashboard; the page then gets the HttpOnly cookie so its own requests carry
/// it). Anything else gets 401 before any route runs. Comparison in constant time.
/// </summary>
public sealed class TokenCheck(string token)
{
    public const string Cookie = "orch_token";
    readonly byte[] expected = Encoding.UTF8.GetBytes(token);

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var req = context.Request;
        string? fromQuery = req.Query["token"];
        string? given = Bearer(req.Headers.Authorization) ?? req.Cookies[Cookie] ?? fromQuery;
        if (given is null || !Matches(given))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await context.Response.WriteAsJsonAsync(new { error = "this dashboard needs its token: open it with ?token=TOKEN or send Authorization: Bearer TOKEN" });
            return;
        }
        if (fromQuery is not null && req.Cookies[Cookie] is null)
            context.Response.Cookies.Append(Cookie, fromQuery, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/" });
        await next(context);
    }

    bool Matches(string given)
    {
        var bytes = Encoding.UTF8.GetBytes(given);
        return CryptographicOperations.FixedTimeEquals(bytes, expected);
    }

    static string? Bearer(string? header) =>
        header is not null && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
}
