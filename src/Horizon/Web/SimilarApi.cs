using System.Diagnostics;
using System.Text.Json;
using Horizon.Algorithms.Detection;
using Horizon.Algorithms.Similarity;
using Horizon.Analyzer;
using Horizon.Analyzer.Incidents;
using Horizon.Core;
using Horizon.Storage;

namespace Horizon.Web;

/// <summary>
/// "What else looks like this?" over the shape index the analyzer keeps in this process
/// (<see cref="ShapeIndex"/>), and the collections of saved shapes.
/// <list type="bullet">
/// <item><c>GET /api/similar?metric=&lt;name&gt;[&amp;range=1d&amp;until=&lt;unix seconds&gt;&amp;k=10&amp;mode=euclidean|shift|dtw&amp;band=5&amp;shift=3&amp;match=&lt;glob&gt;&amp;owner=&lt;owner&gt;]</c>:
/// the metrics whose last <c>range</c> (30m to 2h by the minute, 3h to 1d by ten minutes, 2d to 14d by two hours from the
/// roll-ups in ensemble mode) moved most like this one's.</item>
/// <item><c>POST /api/similar</c> with <c>{"values": [...], "range": "1d", ...}</c>: the same for values
/// posted or a shape drawn on the page (stretched to the range's bins).</item>
/// <item><c>GET /api/incidents/{id}/moved-with[?k=10]</c>: the metrics that moved with the incident's
/// peak metric around its start (the hour around it, by the minute, a few minutes of lag allowed).</item>
/// <item><c>GET /api/collections</c>; <c>POST /api/collections</c> with <c>{"name", "notes", "metric" or
/// "values", "created_by"}</c> (token); <c>DELETE /api/collections/{id}</c> (token).</item>
/// </list>
/// </summary>
public static class SimilarApi
{
    private const int MaxBody = 64 * 1024;

    /// <summary>Maps the endpoints.</summary>
    public static void MapSimilarApi(this WebApplication app)
    {
        app.MapGet("/api/similar", async (string? metric, string? range, long? until, int? k, string? mode, string? rerank, int? band, int? shift, string? match, string? owner, bool? check,
            ShapeIndex index, StoreConnection store) =>
        {
            if (string.IsNullOrEmpty(metric))
            {
                return Results.BadRequest(new { error = "metric is required (or POST values)" });
            }
            if (Window(index, range, until) is not { } window)
            {
                return Results.BadRequest(new { error = RangeError });
            }
            var row = new float[window.Matrix.Dims];
            if (!window.Matrix.TryGet(metric, row))
            {
                return !index.Kept ? NoIndex()
                    : window.Matrix == index.Fortnight && index.Fortnight.Count == 0
                        ? Results.BadRequest(new { metric, error = "ranges past a day search the roll-ups the analyzer keeps in ensemble mode (Analyzer:Mode=ensemble or both)" })
                        : Results.NotFound(new { metric, error = "no points of this metric in the window (or not this analyzer shard's)" });
            }
            var shape = row[window.Offset..(window.Offset + window.Bins)];
            return await SearchAsync(index, store, window, shape, k, mode, band, shift, match, owner, exclude: metric, new { metric, range = window.Range, until }, check: check == true, rerank: rerank);
        });
        app.MapPost("/api/similar", async (HttpRequest request, ShapeIndex index, StoreConnection store) =>
        {
            if (await BodyAsync(request) is not { } body || Values(body) is not { Length: >= 2 } values)
            {
                return Results.BadRequest(new { error = $"a JSON object of at most {MaxBody} bytes with \"values\": at least two finite numbers" });
            }
            var range = Text(body, "range");
            if (Window(index, range, body.TryGetProperty("until", out var u) && u.TryGetInt64(out var until) ? until : null) is not { } window)
            {
                return Results.BadRequest(new { error = RangeError });
            }
            var shape = new float[window.Bins];
            Shapes.Resample(values, shape);
            return await SearchAsync(index, store, window, shape, Int(body, "k"), Text(body, "mode"), Int(body, "band"), Int(body, "shift"),
                Text(body, "match"), Text(body, "owner"), exclude: null, new { values = values.Length, range = window.Range }, rerank: Text(body, "rerank"));
        });
        app.MapGet("/api/incidents/{id}/moved-with", async (string id, int? k, double? min_correlation, ShapeIndex index, StoreConnection store) =>
        {
            if (min_correlation is < -1 or > 1 || min_correlation is double.NaN)
            {
                return Results.BadRequest(new { error = "min_correlation is -1 to 1" });
            }
            if (await new IncidentStore(store).IncidentAsync(id) is not { } incident)
            {
                return Results.NotFound(new { id, error = "no such incident" });
            }
            if (!index.Kept)
            {
                return NoIndex();
            }
            // The hour around the start (as much of it as the two-hour index holds), by the minute.
            var metric = incident.PeakMetric ?? incident.Metrics[0].Metric;
            var row = new float[index.Recent.Dims];
            if (!index.Recent.TryGet(metric, row))
            {
                return Results.Json(new { id, metric, error = "the metric has no points in the last two hours", results = Array.Empty<object>() });
            }
            var endBin = index.UpdatedAt / ShapeIndex.RecentGrid.BinSeconds;
            var firstBin = endBin - ShapeIndex.RecentGrid.Bins + 1;
            var from = (int)Math.Clamp((incident.StartedAt / 60) - 30 - firstBin, 0, row.Length - 10);
            var to = (int)Math.Clamp((incident.StartedAt / 60) + 30 - firstBin, from + 10, row.Length);
            var members = incident.Metrics.Select(m => m.Metric).ToHashSet(StringComparer.Ordinal);
            var window = new SearchWindow(index.Recent, to - from, ShapeIndex.RecentGrid.BinSeconds, $"{to - from}m", from);
            return await SearchAsync(index, store, window, row[from..to], k, "shift", null, 5, null, null, exclude: null,
                new { incident = id, metric, from = (firstBin + from) * 60, until = (firstBin + to) * 60, min_correlation = min_correlation ?? MovedWithCorrelation },
                include: n => !members.Contains(n), minCorrelation: min_correlation ?? MovedWithCorrelation);
        });

        app.MapGet("/api/collections", async (StoreConnection store) =>
            Results.Json(new { collections = await new CollectionStore(store).AllAsync() }, IncidentStore.Json));
        app.MapPost("/api/collections", async (HttpRequest request, StoreConnection store, ShapeIndex index, WebOptions options, WebMetrics metrics, TimeProvider time) =>
        {
            if (WriteAccess.Check(request, options, metrics) is { } refused)
            {
                return refused;
            }
            if (await BodyAsync(request) is not { } body || Text(body, "name") is not { Length: > 0 and <= 200 } name)
            {
                return Results.BadRequest(new { error = $"a JSON object of at most {MaxBody} bytes with a \"name\" (1 to 200 characters) and \"metric\" or \"values\"" });
            }
            var means = new float[Movement.Bins];
            var metric = Text(body, "metric");
            if (metric is not null)
            {
                // The metric's last half hour by the minute.
                var row = new float[index.Recent.Dims];
                if (!index.Recent.TryGet(metric, row))
                {
                    return index.Kept ? Results.NotFound(new { metric, error = "no points of this metric in the last two hours" }) : NoIndex();
                }
                row.AsSpan(row.Length - Movement.Bins).CopyTo(means);
            }
            else if (Values(body) is { Length: >= 2 } values)
            {
                Shapes.Resample(values, means);
            }
            else
            {
                return Results.BadRequest(new { error = "\"metric\" (its last half hour) or \"values\" (at least two numbers) is required" });
            }
            if (!ShapeSearch.Normalise(means, new double[means.Length]))
            {
                return Results.BadRequest(new { error = "the shape is flat: there is nothing to match" });
            }
            var notes = Text(body, "notes");
            var saved = new SavedShape(StoreKeys.NewRecordId("c-"), name,
                notes is { Length: > 4000 } ? notes[..4000] : notes, time.GetUtcNow().ToUnixTimeSeconds(), Text(body, "created_by") ?? "", metric, means);
            await new CollectionStore(store).AddAsync(saved);
            return Results.Json(saved, IncidentStore.Json, statusCode: StatusCodes.Status201Created);
        });
        app.MapDelete("/api/collections/{id}", async (string id, HttpRequest request, StoreConnection store, WebOptions options, WebMetrics metrics) =>
        {
            if (WriteAccess.Check(request, options, metrics) is { } refused)
            {
                return refused;
            }
            return await new CollectionStore(store).DeleteAsync(id) ? Results.NoContent() : Results.NotFound(new { id, error = "no such collection" });
        });
    }

    /// <summary>Where a search looks: a matrix, <see cref="Bins"/> bins of its rows from <see cref="Offset"/>.</summary>
    private sealed record SearchWindow(ShapeMatrix Matrix, int Bins, long BinSeconds, string Range, int Offset);

    // "30m".."2h": the minute grid; "3h".."1d": ten minutes.
    // "30m".."2h": the minute grid; "3h".."1d": ten minutes; ending with the bin of `until` (Unix
    // seconds, default the last pass), which the index must still hold.
    private static SearchWindow? Window(ShapeIndex index, string? range, long? until = null)
    {
        var seconds = range is null ? 86400 : IncidentApi.ParseDuration(range);
        if (seconds is not { } s)
        {
            return null;
        }
        var (matrix, grid) = s >= 30 * 60 && s <= ShapeIndex.RecentGrid.Bins * ShapeIndex.RecentGrid.BinSeconds ? (index.Recent, ShapeIndex.RecentGrid)
            : s > ShapeIndex.RecentGrid.Bins * ShapeIndex.RecentGrid.BinSeconds && s <= ShapeIndex.DayGrid.Bins * ShapeIndex.DayGrid.BinSeconds ? (index.Day, ShapeIndex.DayGrid)
            : s > ShapeIndex.DayGrid.Bins * ShapeIndex.DayGrid.BinSeconds && s <= ShapeIndex.FortnightGrid.Bins * ShapeIndex.FortnightGrid.BinSeconds ? (index.Fortnight, ShapeIndex.FortnightGrid)
            : (null, default);
        if (matrix is null)
        {
            return null;
        }
        var bins = (int)(s / grid.BinSeconds);
        var back = until is { } u ? (index.UpdatedAt / grid.BinSeconds) - (u / grid.BinSeconds) : 0;
        var offset = matrix.Dims - bins - back;
        return back < 0 || offset < 0 ? null : new SearchWindow(matrix, bins, grid.BinSeconds, range ?? "1d", (int)offset);
    }

    /// <summary>What moved with an incident moved like it: at least this correlation over the hour
    /// (a random walk ranks somewhere in any top k; it does not move with anything).</summary>
    public const double MovedWithCorrelation = 0.9;

    private const string RangeError = "range is 30m to 2h by the minute, 3h to 1d by ten minutes, or 2d to 14d by two hours (from the roll-ups, ensemble mode), ending at until (default now) within what the index holds";

    private static async Task<IResult> SearchAsync(ShapeIndex index, StoreConnection store, SearchWindow window, float[] shape, int? k, string? mode, int? band, int? shift,
        string? match, string? owner, string? exclude, object query, Func<string, bool>? include = null, bool check = false, string? rerank = null, double minCorrelation = -1)
    {
        if (!index.Kept)
        {
            return NoIndex();
        }
        ShapeMode? parsed = mode switch { null or "" or "euclidean" => ShapeMode.Euclidean, "shift" => ShapeMode.Shift, "dtw" => ShapeMode.Dtw, _ => null };
        if (parsed is not { } how || k is < 1 or > 100 || band is < 0 or > 30 || shift is < 0 || rerank is not (null or "" or "dtw") || (rerank == "dtw" && how == ShapeMode.Dtw))
        {
            return Results.BadRequest(new { error = "mode is euclidean, shift or dtw; rerank=dtw (with euclidean or shift: the 10k nearest re-ranked by DTW); k 1 to 100; band 0 to 30 bins; shift not negative" });
        }
        var reranked = rerank == "dtw";
        var glob = string.IsNullOrEmpty(match) ? null : new NameGlob(match);
        HashSet<string>? owned = null;
        if (!string.IsNullOrEmpty(owner))
        {
            owned = [.. (await store.Database.HashGetAllAsync(StoreKeys.Metadata))
                .Where(e => MetricMetadata.TryParse(e.Value)?.Owner == owner).Select(e => (string)e.Name!)];
        }
        var wanted = k ?? 10;
        var started = Stopwatch.GetTimestamp();
        List<ShapeMatch> found;
        ShapeQuery search;
        try
        {
            search = new ShapeQuery(shape, window.Offset, wanted, how,
                band ?? 5, shift ?? 3, n => n != exclude && (include?.Invoke(n) ?? true) && (glob?.IsMatch(n) ?? true) && (owned?.Contains(n) ?? true));
            found = reranked ? ShapeSearch.Rerank(window.Matrix, search, 10 * wanted, band ?? 5) : ShapeSearch.Search(window.Matrix, search);
        }
        catch (ArgumentException e)
        {
            return Results.BadRequest(new { error = e.Message });
        }
        var took = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        // check=true (for capacity tests): on a copy no pass updates, the search again and the
        // brute-force reference, and whether they rank the same.
        object? reference = null;
        if (check)
        {
            var frozen = window.Matrix.Copy();
            found = reranked ? ShapeSearch.Rerank(frozen, search, 10 * wanted, band ?? 5) : ShapeSearch.Search(frozen, search);
            var referenceStarted = Stopwatch.GetTimestamp();
            var expected = reranked ? ShapeSearch.Rerank(frozen, search, 10 * wanted, band ?? 5, reference: true) : ShapeSearch.BruteForce(frozen, search);
            reference = new
            {
                took_ms = Math.Round(Stopwatch.GetElapsedTime(referenceStarted).TotalMilliseconds, 2),
                equal = expected.Select(e => e.Name).SequenceEqual(found.Select(f => f.Name)),
                recall = expected.Count == 0 ? 1.0 : (double)found.Select(f => f.Name).Intersect(expected.Select(e => e.Name)).Count() / expected.Count,
            };
        }
        var m = shape.Length;
        // For the Euclidean kinds, the correlation the distance stands for: d^2 = 2m(1 - r).
        double? Correlation(ShapeMatch f) => how == ShapeMode.Dtw || reranked ? null : Math.Round(1 - (f.Distance * f.Distance / (2.0 * m)), 3);
        return Results.Json(new
        {
            query,
            mode = how.ToString().ToLowerInvariant() + (reranked ? "+dtw" : ""),
            bins = m,
            bin_seconds = window.BinSeconds,
            searched = window.Matrix.Count,
            took_ms = Math.Round(took, 2),
            index_updated_at = index.UpdatedAt,
            index_bytes = index.Recent.Bytes + index.Day.Bytes,
            reference,
            results = found.Take(wanted).Where(f => !(Correlation(f) < minCorrelation)).Select(f => new
            {
                metric = f.Name,
                distance = Math.Round(f.Distance, 4),
                correlation = Correlation(f),
                lag_seconds = f.Lag * window.BinSeconds,
            }),
        });
    }

    private static IResult NoIndex() => Results.Json(new { error = "the shape index lives in the analyzer: run the web role in the same process as an analyzer (role all), with Analyzer:ShapeIndex on" },
        statusCode: StatusCodes.Status503ServiceUnavailable);

    private static Task<JsonElement?> BodyAsync(HttpRequest request) => IncidentApi.BodyAsync(request, MaxBody);

    private static double[]? Values(JsonElement body)
    {
        if (!body.TryGetProperty("values", out var v) || v.ValueKind != JsonValueKind.Array || v.GetArrayLength() > 10_000)
        {
            return null;
        }
        var values = new List<double>();
        foreach (var x in v.EnumerateArray())
        {
            if (x.ValueKind != JsonValueKind.Number || !x.TryGetDouble(out var d) || !double.IsFinite(d))
            {
                return null;
            }
            values.Add(d);
        }
        return [.. values];
    }

    private static string? Text(JsonElement body, string name) => IncidentApi.Text(body, name);

    private static int? Int(JsonElement body, string name) => body.TryGetProperty(name, out var v) && v.TryGetInt32(out var i) ? i : null;
}
