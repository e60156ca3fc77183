using System.Security.Cryptography;
using System.Text;

namespace Horizon.Web;

/// <summary>Who may change what Horizon stores through HTTP: only a request carrying the configured
/// <see cref="WebOptions.WriteToken"/> as a bearer token. With no token configured, every write is
/// refused, so a fresh install cannot be written to by whoever reaches its port.</summary>
public static class WriteAccess
{
    /// <summary>Null when <paramref name="request"/> may write; otherwise the refusal to return
    /// (403 when writes are off, 401 when the token is missing or wrong).</summary>
    public static IResult? Check(HttpRequest request, WebOptions options, WebMetrics metrics)
    {
        if (string.IsNullOrEmpty(options.WriteToken))
        {
            metrics.WritesRefused.WithLabels("disabled").Inc();
            return Results.Json(new { error = "writes are disabled: set Web:WriteToken and send it as 'Authorization: Bearer <token>'" }, statusCode: StatusCodes.Status403Forbidden);
        }
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ||
            !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()), Encoding.UTF8.GetBytes(options.WriteToken)))
        {
            metrics.WritesRefused.WithLabels("unauthorized").Inc();
            request.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
            return Results.Json(new { error = "a write needs 'Authorization: Bearer <Web:WriteToken>'" }, statusCode: StatusCodes.Status401Unauthorized);
        }
        return null;
    }
}
