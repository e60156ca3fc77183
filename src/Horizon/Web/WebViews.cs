using System.Reflection;
using System.Text.Json;
using Horizon.Analyzer;
using Horizon.Core;
using Horizon.Storage;

namespace Horizon.Web;

/// <summary>
/// What people look at: the anomalies page (<c>/</c>: current findings with a graph of each
/// metric and the reasons, and the recent history) and the JSON it reads (<c>/api/anomalies</c>,
/// and <c>/api/series</c> with <c>max</c>).
/// </summary>
public static class WebViews
{
    /// <summary>Most history entries <c>/api/anomalies</c> returns.</summary>
    public const int MaxHistory = 1000;

    private static readonly Lazy<byte[]> Page = new(() => Resource("Horizon.Web.index.html"));
    private static readonly Lazy<byte[]> ChartScript = new(() => Resource("Horizon.Web.vendor.uplot.js"));
    private static readonly Lazy<byte[]> ChartStyle = new(() => Resource("Horizon.Web.vendor.uplot.css"));

    private static byte[] Resource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"{name} is not embedded in the assembly");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>Maps the page and <c>/api/anomalies</c>.</summary>
    public static void MapAnomalyViews(this WebApplication app)
    {
        app.MapGet("/", () => Results.Bytes(Page.Value, "text/html; charset=utf-8"));
        app.MapGet("/vendor/uplot.js", () => Results.Bytes(ChartScript.Value, "text/javascript; charset=utf-8"));
        app.MapGet("/vendor/uplot.css", () => Results.Bytes(ChartStyle.Value, "text/css; charset=utf-8"));
        // The findings as the analyzers wrote them: horizon.anomalies (current, every shard), the
        // head of horizon.anomalies.history (newest first) and each shard's last pass
        // (horizon.analyzer.passes), so a web-only process shows them too.
        app.MapGet("/api/anomalies", async (int? history, StoreConnection store) =>
        {
            var db = store.Database;
            var take = Math.Clamp(history ?? 100, 0, MaxHistory);
            var currentTask = db.HashGetAllAsync(StoreKeys.Anomalies);
            var recentTask = take > 0 ? db.ListRangeAsync(StoreKeys.AnomalyHistory, 0, take - 1) : Task.FromResult(Array.Empty<StackExchange.Redis.RedisValue>());
            var passesTask = db.HashGetAllAsync(StoreKeys.AnalyzerPasses);
            var current = await currentTask;
            var recent = await recentTask;
            var passes = await passesTask;
            using var body = new MemoryStream();
            using (var json = new Utf8JsonWriter(body))
            {
                json.WriteStartObject();
                WriteRecords(json, "current", current.Select(e => e.Value));
                WriteRecords(json, "history", recent);
                WriteRecords(json, "passes", passes.OrderBy(e => e.Name.ToString(), StringComparer.Ordinal).Select(e => e.Value));
                json.WriteEndObject();
            }
            return Results.Bytes(body.ToArray(), "application/json");
        });
    }

    // Stored JSON records as they are, in an array; one that does not parse (written by something
    // else) is left out.
    private static void WriteRecords(Utf8JsonWriter json, string name, IEnumerable<StackExchange.Redis.RedisValue> records)
    {
        json.WriteStartArray(name);
        foreach (var record in records)
        {
            try
            {
                using var parsed = JsonDocument.Parse(record.ToString());
                parsed.RootElement.WriteTo(json);
            }
            catch (JsonException)
            {
            }
        }
        json.WriteEndArray();
    }

    /// <summary>
    /// The points of a series thinned to about <paramref name="max"/> for a graph: the series is
    /// cut into max / 2 buckets of equal time and each keeps its lowest and highest point, in time
    /// order, so no spike or dip disappears, and the newest point is kept too (max + 1 at most).
    /// Fewer points than that: all of them.
    /// </summary>
    public static int Thin(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, int max, Span<int> keep)
    {
        var n = timestamps.Length;
        if (n <= max || max < 2)
        {
            for (var i = 0; i < n; i++)
            {
                keep[i] = i;
            }
            return n;
        }
        var buckets = max / 2;
        var first = timestamps[0];
        var span = Math.Max(1, timestamps[^1] - first + 1);
        var kept = 0;
        var i0 = 0;
        for (var b = 0; b < buckets && i0 < n; b++)
        {
            var end = first + (long)Math.Ceiling((double)span * (b + 1) / buckets);
            int lo = i0, hi = i0, i = i0;
            for (; i < n && (timestamps[i] < end || b == buckets - 1); i++)
            {
                lo = values[i] < values[lo] ? i : lo;
                hi = values[i] > values[hi] ? i : hi;
            }
            if (i == i0)
            {
                continue; // an empty bucket (a gap)
            }
            keep[kept++] = Math.Min(lo, hi);
            if (lo != hi)
            {
                keep[kept++] = Math.Max(lo, hi);
            }
            i0 = i;
        }
        // The newest point always: a graph that ends before the last value misleads.
        if (kept > 0 && keep[kept - 1] != n - 1)
        {
            keep[kept++] = n - 1;
        }
        return kept;
    }
}
