using System.Text.Json;
using Horizon.Core;
using Horizon.Storage.Events;

namespace Horizon.Web;

/// <summary>
/// Events over HTTP, in Graphite's shape. Anyone may read; writing and deleting need the write token.
/// <list type="bullet">
/// <item><c>POST /api/events</c> with <c>{"what": "deploy web 1234", "tags": ["deploy", "web"] (or
/// "deploy web"), "when": unix seconds (default now), "data": ...}</c>: 201 with the stored event.</item>
/// <item><c>GET /api/events[?from=&amp;until=&amp;tags=deploy+web&amp;limit=N]</c>: oldest first (from: a day ago, until: now).</item>
/// <item><c>DELETE /api/events/{id}</c>.</item>
/// </list>
/// </summary>
public static class EventApi
{
    private const int MaxBody = 16 * 1024;

    /// <summary>Maps the endpoints.</summary>
    public static void MapEventApi(this WebApplication app)
    {
        app.MapPost("/api/events", CreateAsync);
        app.MapGet("/api/events", async (long? from, long? until, string? tags, int? limit, EventStore events, TimeProvider time) =>
        {
            var now = time.GetUtcNow().ToUnixTimeSeconds();
            var wanted = tags?.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries);
            var list = await events.RangeAsync(from ?? now - 86400, until ?? now, wanted, Math.Clamp(limit ?? 1000, 1, 10_000));
            return Results.Json(new { count = list.Count, events = list }, EventStore.Json);
        });
        app.MapDelete("/api/events/{id}", async (string id, HttpRequest request, EventStore events, WebOptions options, WebMetrics metrics) =>
        {
            if (WriteAccess.Check(request, options, metrics) is { } refused)
            {
                return refused;
            }
            return await events.DeleteAsync(id) ? Results.NoContent() : Results.NotFound(new { id, error = "no such event" });
        });
    }

    /// <summary>Stores an event posted in Graphite's shape (also served at Graphite's <c>POST /events/</c>).</summary>
    public static async Task<IResult> CreateAsync(HttpRequest request, EventStore events, WebOptions options, WebMetrics metrics, TimeProvider time)
    {
        if (WriteAccess.Check(request, options, metrics) is { } refused)
        {
            return refused;
        }
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        if (await MetadataApi.ReadBoundedAsync(request, MaxBody) is not { } text || Parse(text, now) is not { } parsed)
        {
            return Results.BadRequest(new { error = $"a JSON object of at most {MaxBody} bytes: {{\"what\": ..., \"tags\": [...] or \"a b\", \"when\": unix seconds, \"data\": ...}}" });
        }
        if (parsed.Problem is { } problem)
        {
            return Results.BadRequest(new { error = problem });
        }
        await events.AddAsync(parsed, now);
        return Results.Json(parsed, EventStore.Json, statusCode: StatusCodes.Status201Created);
    }

    /// <summary>An event from Graphite's JSON (tags a list or a space-separated string; when
    /// defaulting to <paramref name="now"/>), or null when it is not that shape.</summary>
    public static HorizonEvent? Parse(string text, long now)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("what", out var what) || what.ValueKind != JsonValueKind.String)
            {
                return null;
            }
            List<string> tags = [];
            if (root.TryGetProperty("tags", out var t))
            {
                if (t.ValueKind == JsonValueKind.String)
                {
                    tags = [.. t.GetString()!.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries)];
                }
                else if (t.ValueKind == JsonValueKind.Array && t.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String))
                {
                    tags = [.. t.EnumerateArray().Select(x => x.GetString()!)];
                }
                else if (t.ValueKind != JsonValueKind.Null)
                {
                    return null;
                }
            }
            var when = now;
            if (root.TryGetProperty("when", out var w) && w.ValueKind != JsonValueKind.Null)
            {
                if (w.ValueKind != JsonValueKind.Number || !w.TryGetDouble(out var seconds) || !(Math.Abs(seconds) < 1e12))
                {
                    return null;
                }
                when = (long)seconds;
            }
            string? data = null;
            if (root.TryGetProperty("data", out var dt))
            {
                data = dt.ValueKind switch { JsonValueKind.String => dt.GetString(), JsonValueKind.Null => null, _ => dt.GetRawText() };
            }
            return new HorizonEvent { Id = StoreKeys.NewRecordId("e-"), What = what.GetString()!, Tags = tags, When = when, Data = data };
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
