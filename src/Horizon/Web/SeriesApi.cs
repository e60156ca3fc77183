using Horizon.Core;
using Horizon.Algorithms.Detection;
using Horizon.Core.Series;
using Horizon.Storage;
using StackExchange.Redis;

namespace Horizon.Web;

/// <summary>
/// The series as stored: <c>/api/series/&lt;name&gt;[?max=N]</c> reads one back (thinned to N points
/// for a graph), <c>/api/metrics?match=&lt;glob&gt;[&amp;limit=N]</c> lists names from
/// <c>metrics.unique_metrics</c>. A key that is not a series is a 409 saying what it is.
/// </summary>
public static class SeriesApi
{
    /// <summary>Names listed when no limit is given.</summary>
    public const int DefaultLimit = 1000;

    /// <summary>Most names one request lists.</summary>
    public const int MaxLimit = 100_000;

    /// <summary>Maps both endpoints.</summary>
    public static void MapSeriesApi(this WebApplication app, SeriesOptions series, EnsembleSettings ensemble)
    {
        // ?max=N thins the points for a graph (each of N/2 time buckets keeps its lowest and highest).
        app.MapGet("/api/series/{**name}", async (string name, int? max, StoreConnection store) =>
        {
            if (max is < 2)
            {
                return Results.BadRequest(new { name, error = "max must be at least 2" });
            }
            var key = series.FullNamespace + name;
            byte[]? raw;
            try
            {
                raw = await store.Database.StringGetAsync(key);
            }
            catch (RedisServerException e) when (e.Message.StartsWith("WRONGTYPE", StringComparison.Ordinal))
            {
                var type = await store.Database.KeyTypeAsync(key);
                return Results.Json(new { name, key, error = $"{key} is not a series (it holds a {type.ToString().ToLowerInvariant()})" }, statusCode: StatusCodes.Status409Conflict);
            }
            if (raw is null)
            {
                return Results.NotFound(new { name, error = "no such series" });
            }
            var (timestamps, values) = SeriesCodec.DecodeAll(raw, out var status);
            var count = timestamps.Length;
            var keep = new int[count];
            var kept = WebViews.Thin(timestamps, values, max ?? int.MaxValue, keep);
            return Results.Json(new
            {
                name,
                key,
                bytes = raw.Length,
                corrupt = status == PointReadStatus.Corrupt,
                stored = count,
                points = keep.Take(kept).Select(i => new object[] { timestamps[i], values[i] }),
            });
        });
        // The level detector's expected band at up to N points of the stored series since a time
        // (each from the window of points before it), for the graph's shaded band.
        app.MapGet("/api/band/{**name}", async (string name, int? points, long? since, StoreConnection store) =>
        {
            if (points is < 2 or > 2000)
            {
                return Results.BadRequest(new { name, error = "points must be 2 to 2000" });
            }
            byte[]? raw = await store.Database.StringGetAsync(series.FullNamespace + name);
            if (raw is null)
            {
                return Results.NotFound(new { name, error = "no such series" });
            }
            var (timestamps, values) = SeriesCodec.DecodeAll(raw, out _);
            // Unreadable metadata: judged (and drawn) as without it.
            var sensitivity = MetricMetadata.TryParse(await store.Database.HashGetAsync(StoreKeys.Metadata, name))?.Sensitivity ?? 1.0;
            var detector = new EnsembleDetector(ensemble);
            var rate = detector.RateOf(timestamps);
            var first = Math.Max(ensemble.MinPoints, since is { } s ? LowerBound(timestamps, s) : 0);
            var count = timestamps.Length - first;
            var take = Math.Min(count, points ?? 300);
            var band = new List<double[]>(Math.Max(0, take));
            for (var k = 0; k < take; k++)
            {
                // Evenly spaced, the newest point always among them.
                var i = first + (int)((long)(count - 1) * k / Math.Max(1, take - 1));
                if (detector.LevelBand(values.AsSpan(0, i), rate, sensitivity) is { } b)
                {
                    band.Add([timestamps[i], b.Low, b.Expected, b.High]);
                }
            }
            return Results.Json(new { name, detector = "level", threshold = ensemble.Threshold, band });
        });
        // The long-term roll-up (ensemble mode): one mean per slot (10 minutes, or the metric's
        // interval up to an hour) over the retained days; empty slots left out.
        app.MapGet("/api/rollup/{**name}", async (string name, StoreConnection store) =>
        {
            byte[]? raw = await store.Database.StringGetAsync(StoreKeys.Rollup(name));
            if (raw is null)
            {
                return Results.NotFound(new { name, error = "no roll-up (the analyzer keeps one in ensemble mode)" });
            }
            var slotSeconds = raw.Length >= 4 ? RollupHistory.StoredSlotSeconds(raw) : 0;
            var history = slotSeconds >= 1 ? new RollupHistory(slotSeconds, int.MaxValue) : null;
            if (history is null || !history.TryLoad(raw))
            {
                return Results.Json(new { name, error = "the stored roll-up does not parse" }, statusCode: StatusCodes.Status409Conflict);
            }
            var slots = history.Slots;
            var points = new List<object[]>(slots.Length);
            for (var i = 0; i < slots.Length; i++)
            {
                if (!float.IsNaN(slots[i]))
                {
                    points.Add([(history.FirstSlot + i) * history.SlotSeconds, slots[i]]);
                }
            }
            return Results.Json(new { name, slot_seconds = history.SlotSeconds, points });
        });
        app.MapGet("/api/metrics", async (string? match, int? limit, StoreConnection store) =>
        {
            var take = limit ?? DefaultLimit;
            if (take is < 1 or > MaxLimit)
            {
                return Results.BadRequest(new { error = $"limit must be 1-{MaxLimit}" });
            }
            var pattern = series.FullNamespace + (string.IsNullOrEmpty(match) ? "*" : match);
            var names = new List<string>();
            var truncated = false;
            await foreach (var member in store.ScanNamesAsync(pattern, pageSize: 1000))
            {
                if (names.Count == take)
                {
                    truncated = true;
                    break;
                }
                names.Add(member.ToString()[series.FullNamespace.Length..]);
            }
            names.Sort(StringComparer.Ordinal);
            // truncated: more names match than the limit; which ones are listed then depends on the set's order.
            return Results.Json(new { metrics = names, limit = take, truncated });
        });
    }

    // The first index whose timestamp is at least t (timestamps ascending).
    private static int LowerBound(long[] timestamps, long t)
    {
        var i = Array.BinarySearch(timestamps, t);
        return i >= 0 ? i : ~i;
    }
}
