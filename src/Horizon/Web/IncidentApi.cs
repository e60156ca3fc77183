using System.Globalization;
using System.Text.Json;
using Horizon.Analyzer.Incidents;
using Horizon.Core;
using Horizon.Core.Series;
using Horizon.Storage;

namespace Horizon.Web;

/// <summary>
/// Incidents, acknowledgements and silences over HTTP. Anyone may read; acknowledging, silencing
/// and removing a silence need the write token. Writes go to the store, and the analyzer applies
/// them on its next pass (an acknowledgement shows on the incident, a silence keeps matching
/// incidents from Alertmanager).
/// <list type="bullet">
/// <item><c>GET /api/incidents[?state=open|resolved&amp;limit=N]</c>: open first, then newest.</item>
/// <item><c>GET /api/incidents/history[?limit=N]</c>: the transitions, newest first.</item>
/// <item><c>GET /api/incidents/{id}</c>; <c>POST /api/incidents/{id}/ack</c> with <c>{"by": ..., "comment": ...}</c>.</item>
/// <item><c>POST /api/incidents/{id}/feedback</c> with <c>{"verdict": "not_anomalous", "by": ..., "metric": ...}</c>:
/// teaches each metric's (or the one's) last half hour as normal; <c>GET /api/profiles/{metric}</c>, <c>DELETE /api/profiles/{metric}</c>.</item>
/// <item><c>GET /api/silences</c>; <c>POST /api/silences</c> with <c>{"metric": "web.*", "owner": ...,
/// "duration": "2h" | "ends_at": unix seconds, "created_by": ..., "comment": ...}</c>; <c>DELETE /api/silences/{id}</c>.</item>
/// </list>
/// </summary>
public static class IncidentApi
{
    private const int MaxBody = 16 * 1024;

    /// <summary>Maps the endpoints.</summary>
    public static void MapIncidentApi(this WebApplication app)
    {
        app.MapGet("/api/incidents", async (string? state, int? limit, StoreConnection store) =>
        {
            var incidents = await new IncidentStore(store).IncidentsAsync();
            var wanted = state switch
            {
                "open" => incidents.Where(i => i.State == IncidentState.Open),
                "resolved" => incidents.Where(i => i.State == IncidentState.Resolved),
                null or "" or "all" => incidents,
                _ => null,
            };
            if (wanted is null)
            {
                return Results.BadRequest(new { error = "state is open, resolved or all" });
            }
            var list = wanted.OrderBy(i => i.State).ThenByDescending(i => i.LastAt).Take(Math.Clamp(limit ?? 500, 1, 5000)).ToList();
            return Results.Json(new { count = list.Count, incidents = list }, IncidentStore.Json);
        });
        app.MapGet("/api/incidents/history", async (int? limit, StoreConnection store) =>
            Results.Json(new { events = await new IncidentStore(store).HistoryAsync(Math.Clamp(limit ?? 200, 1, 10_000)) }, IncidentStore.Json));
        app.MapGet("/api/incidents/{id}", async (string id, StoreConnection store) =>
            await new IncidentStore(store).IncidentAsync(id) is { } incident
                ? Results.Json(incident, IncidentStore.Json)
                : Results.NotFound(new { id, error = "no such incident" }));
        app.MapPost("/api/incidents/{id}/ack", async (string id, HttpRequest request, StoreConnection store, WebOptions options, WebMetrics metrics, TimeProvider time) =>
        {
            if (WriteAccess.Check(request, options, metrics) is { } refused)
            {
                return refused;
            }
            var incidents = new IncidentStore(store);
            if (await incidents.IncidentAsync(id) is null)
            {
                return Results.NotFound(new { id, error = "no such incident" });
            }
            if (await BodyAsync(request) is not { } body)
            {
                return Results.BadRequest(new { error = $"a JSON object of at most {MaxBody} bytes: {{\"by\": \"who\", \"comment\": \"...\"}}" });
            }
            var by = Text(body, "by");
            var comment = Text(body, "comment");
            if (by is not { Length: > 0 and <= 200 } || comment is { Length: > 2000 })
            {
                return Results.BadRequest(new { error = "by (1-200 characters) is required; comment is at most 2000" });
            }
            var ack = new Acknowledgement(by, time.GetUtcNow().ToUnixTimeSeconds(), comment);
            await incidents.AcknowledgeAsync(id, ack);
            return Results.Json(ack, IncidentStore.Json);
        });
        app.MapPost("/api/incidents/{id}/feedback", async (string id, HttpRequest request, StoreConnection store, SeriesOptions series, WebOptions options, WebMetrics metrics, TimeProvider time) =>
        {
            if (WriteAccess.Check(request, options, metrics) is { } refused)
            {
                return refused;
            }
            var incidents = new IncidentStore(store);
            if (await incidents.IncidentAsync(id) is not { } incident)
            {
                return Results.NotFound(new { id, error = "no such incident" });
            }
            if (await BodyAsync(request) is not { } body || Text(body, "verdict") != "not_anomalous")
            {
                return Results.BadRequest(new { error = "{\"verdict\": \"not_anomalous\", \"by\": \"who\", \"metric\": \"one of its metrics (default: all)\"}" });
            }
            var by = Text(body, "by");
            if (by is not { Length: > 0 and <= 200 })
            {
                return Results.BadRequest(new { error = "by (1-200 characters) is required" });
            }
            var only = Text(body, "metric");
            var members = incident.Metrics.Where(m => only is null || m.Metric == only).ToList();
            if (members.Count == 0)
            {
                return Results.BadRequest(new { error = $"{only} is not a metric of incident {id}" });
            }
            // Each metric's half hour up to its last finding, from its series.
            var now = time.GetUtcNow().ToUnixTimeSeconds();
            var shapes = new List<TaughtShape>();
            var missing = new List<string>();
            foreach (var m in members)
            {
                byte[]? raw = await store.Database.StringGetAsync(series.FullNamespace + m.Metric);
                var movement = raw is null ? null : MovementUntil(raw, m.LastAt);
                if (movement is null)
                {
                    missing.Add(m.Metric);
                    continue;
                }
                shapes.Add(new TaughtShape(StoreKeys.NewRecordId("p-"), m.Metric, movement.EndBin, movement.Means.ToArray(), now, by, id));
            }
            if (shapes.Count > 0)
            {
                await incidents.TeachAsync(shapes);
            }
            return Results.Json(new { taught = shapes, not_taught = missing }, IncidentStore.Json);
        });
        app.MapGet("/api/profiles/{**metric}", async (string metric, StoreConnection store) =>
            Results.Json(new { metric, profiles = await new IncidentStore(store).ProfilesAsync(metric) }, IncidentStore.Json));
        app.MapDelete("/api/profiles/{**metric}", async (string metric, HttpRequest request, StoreConnection store, WebOptions options, WebMetrics metrics) =>
        {
            if (WriteAccess.Check(request, options, metrics) is { } refused)
            {
                return refused;
            }
            return await new IncidentStore(store).ForgetAsync(metric) ? Results.NoContent() : Results.NotFound(new { metric, error = "nothing taught" });
        });
        app.MapGet("/api/silences", async (StoreConnection store, TimeProvider time) =>
        {
            var now = time.GetUtcNow().ToUnixTimeSeconds();
            var silences = await new IncidentStore(store).SilencesAsync();
            return Results.Json(new { silences = silences.OrderByDescending(s => s.ActiveAt(now)).ThenByDescending(s => s.EndsAt).Select(s => new { silence = s, active = s.ActiveAt(now) }) }, IncidentStore.Json);
        });
        app.MapPost("/api/silences", async (HttpRequest request, StoreConnection store, WebOptions options, WebMetrics metrics, TimeProvider time) =>
        {
            if (WriteAccess.Check(request, options, metrics) is { } refused)
            {
                return refused;
            }
            if (await BodyAsync(request) is not { } body)
            {
                return Results.BadRequest(new { error = $"a JSON object of at most {MaxBody} bytes" });
            }
            var now = time.GetUtcNow().ToUnixTimeSeconds();
            long endsAt;
            if (Text(body, "duration") is { } duration)
            {
                if (ParseDuration(duration) is not { } seconds)
                {
                    return Results.BadRequest(new { error = "duration is a number with s, m, h or d (90m, 2h, 1d)" });
                }
                endsAt = now + seconds;
            }
            else if (body.TryGetProperty("ends_at", out var end) && end.TryGetInt64(out var e))
            {
                endsAt = e;
            }
            else
            {
                return Results.BadRequest(new { error = "duration (\"2h\") or ends_at (Unix seconds) is required" });
            }
            var silence = new Silence(StoreKeys.NewRecordId("s-"), Text(body, "metric"), Text(body, "owner"),
                now, endsAt, Text(body, "created_by") ?? "", Text(body, "comment"));
            if (silence.Problem(now) is { } problem)
            {
                return Results.BadRequest(new { error = problem });
            }
            await new IncidentStore(store).SilenceAsync(silence);
            return Results.Json(silence, IncidentStore.Json, statusCode: StatusCodes.Status201Created);
        });
        app.MapDelete("/api/silences/{id}", async (string id, HttpRequest request, StoreConnection store, WebOptions options, WebMetrics metrics) =>
        {
            if (WriteAccess.Check(request, options, metrics) is { } refused)
            {
                return refused;
            }
            return await new IncidentStore(store).UnsilenceAsync(id) ? Results.NoContent() : Results.NotFound(new { id, error = "no such silence" });
        });
    }

    /// <summary>An id nobody can guess or collide with: the prefix and 48 random bits (silences, taught shapes, collections, events).</summary>

    // The movement of a stored series over its points up to `until`.
    private static Movement? MovementUntil(byte[] raw, long until)
    {
        var (timestamps, values) = SeriesCodec.DecodeAll(raw, out _);
        var end = timestamps.Length;
        while (end > 0 && timestamps[end - 1] > until)
        {
            end--;
        }
        return Movement.Of(timestamps.AsSpan(0, end), values.AsSpan(0, end));
    }

    /// <summary>The request's body as a JSON object of at most <paramref name="maxBody"/> bytes, or null.</summary>
    internal static async Task<JsonElement?> BodyAsync(HttpRequest request, int maxBody = MaxBody)
    {
        if (await MetadataApi.ReadBoundedAsync(request, maxBody) is not { } text)
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.ValueKind == JsonValueKind.Object ? document.RootElement.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A string property of a request body, or null (missing, or not a string).</summary>
    internal static string? Text(JsonElement? body, string name) =>
        body is { } b && b.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>Seconds in "90s", "15m", "2h", "1d" (up to a year), or null.</summary>
    public static long? ParseDuration(string text)
    {
        if (text.Length < 2 || !long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            return null;
        }
        long? seconds = text[^1] switch { 's' => n, 'm' => n * 60, 'h' => n * 3600, 'd' => n * 86400, _ => null };
        return seconds is > 0 and <= 366L * 86400 ? seconds : null;
    }
}
