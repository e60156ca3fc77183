using System.Text.Json;
using Horizon.Algorithms.Detection;
using Horizon.Analyzer;
using Horizon.Core;
using Horizon.Storage;

namespace Horizon.Web;

/// <summary>
/// <c>/api/metadata/&lt;name&gt;</c>: what a team knows about a metric (unit, owner, capacity, ...),
/// in the <c>horizon.metadata</c> hash. Anyone may read it; writing needs the write token, and is
/// bounded (document size, number of entries). Every write bumps <c>horizon.metadata.version</c>,
/// which is how analyzers know to read the hash again.
/// </summary>
public static class MetadataApi
{
    /// <summary>Longest metric name metadata can be stored for (a name longer than any line the
    /// listeners accept cannot have points).</summary>
    public const int MaxNameLength = 4096;

    /// <summary>Maps GET, PUT and DELETE.</summary>
    public static void MapMetadataApi(this WebApplication app)
    {
        app.MapGet("/api/metadata/{**name}", async (string name, StoreConnection store) =>
        {
            if (name.Length > MaxNameLength)
            {
                return Results.BadRequest(new { error = $"metric names are at most {MaxNameLength} characters" });
            }
            var stored = await store.Database.HashGetAsync(StoreKeys.Metadata, name);
            return stored.HasValue
                ? Results.Content(stored.ToString(), "application/json")
                : Results.NotFound(new { name, error = "no metadata" });
        });
        app.MapPut("/api/metadata/{**name}", async (string name, HttpRequest request, StoreConnection store, WebOptions options, WebMetrics metrics) =>
        {
            if (WriteAccess.Check(request, options, metrics) is { } refused)
            {
                return refused;
            }
            if (name.Length > MaxNameLength)
            {
                return Results.BadRequest(new { error = $"metric names are at most {MaxNameLength} characters" });
            }
            if (await ReadBoundedAsync(request, options.MaxMetadataBytes) is not { } body)
            {
                metrics.WritesRefused.WithLabels("too_large").Inc();
                return Results.Json(new { name, error = $"metadata is at most {options.MaxMetadataBytes} bytes (Web:MaxMetadataBytes)" }, statusCode: StatusCodes.Status413PayloadTooLarge);
            }
            MetricMetadata metadata;
            try
            {
                metadata = MetricMetadata.Parse(body);
            }
            catch (Exception e) when (e is ArgumentException or JsonException)
            {
                return Results.BadRequest(new { name, error = e.Message });
            }
            var db = store.Database;
            if (!await db.HashExistsAsync(StoreKeys.Metadata, name) && await db.HashLengthAsync(StoreKeys.Metadata) >= options.MaxMetadataEntries)
            {
                metrics.WritesRefused.WithLabels("too_many").Inc();
                return Results.Json(new { name, error = $"{options.MaxMetadataEntries} metrics have metadata already (Web:MaxMetadataEntries): delete some first" }, statusCode: StatusCodes.Status409Conflict);
            }
            var json = metadata.ToJson();
            await db.HashSetAsync(StoreKeys.Metadata, name, json);
            await db.StringIncrementAsync(StoreKeys.MetadataVersion);
            return Results.Content(json, "application/json");
        });
        app.MapDelete("/api/metadata/{**name}", async (string name, HttpRequest request, StoreConnection store, WebOptions options, WebMetrics metrics) =>
        {
            if (WriteAccess.Check(request, options, metrics) is { } refused)
            {
                return refused;
            }
            if (!await store.Database.HashDeleteAsync(StoreKeys.Metadata, name))
            {
                return Results.NotFound(new { name, error = "no metadata" });
            }
            await store.Database.StringIncrementAsync(StoreKeys.MetadataVersion);
            return Results.NoContent();
        });
    }

    // The body as text, or null when it is longer than the limit (read no further than that).
    internal static async Task<string?> ReadBoundedAsync(HttpRequest request, int limit)
    {
        if (request.ContentLength > limit)
        {
            return null;
        }
        var buffer = new byte[limit + 1];
        var total = 0;
        int read;
        while (total <= limit && (read = await request.Body.ReadAsync(buffer.AsMemory(total))) > 0)
        {
            total += read;
        }
        return total > limit ? null : System.Text.Encoding.UTF8.GetString(buffer, 0, total);
    }
}
